// Runs the TEST_PROCESS commands on generated code. The code is untrusted: no shell, a scrubbed
// environment (no API keys), the worker's isolation (process/sandbox.ts: own PID and network
// namespaces, only the Python root writable), cwd in the workspace, a time limit that kills the
// whole process group (a test that forks a sleeper does not outlive it), and a cap on the output kept.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ArtifactStore } from './artifacts.js';
import type { Config } from '../config.js';
import { PathError, resolveInside } from '../instructions/paths.js';
import { DEFAULT_RUNNERS, formatRunners, optionProblems, parseRunners, runnerOf } from '../instructions/commands.js';
import type { RunOptions, RunResult } from './process/process-run.js';
import { pythonDirs, realPython } from './process/python.js';
import { defaultHidden, IsolationRefused, runSandboxed, type SandboxSpec } from './process/sandbox.js';
import { startTestTimer } from '../temporal/metrics.js';
import { TestRequest, type TestRun } from '../schemas.js';

export const SUMMARY_BYTES = 2 * 1024;
const HEARTBEAT_MS = 5_000;

/** The last `bytes` bytes of a text, cut at a line start when one is near. */
export function tail(text: string, bytes: number): string {
  const buf = Buffer.from(text);
  if (buf.length <= bytes) return text;
  let cut = buf
    .subarray(buf.length - bytes)
    .toString('utf8')
    .replace(/^\uFFFD+/, '');
  const nl = cut.indexOf('\n');
  if (nl >= 0 && nl < 200) cut = cut.slice(nl + 1);
  return `[... ${buf.length - Buffer.byteLength(cut)} earlier bytes cut ...]\n${cut}`;
}

/** The workspace's Python root (cwd of tests, and PYTHONPATH), which must stay inside the workspace. */
export function pythonRootDir(workspace: string, pythonRoot: string): string {
  const r = pythonRoot.trim().replace(/\/+$/, '');
  if (r === '' || r === '.') return path.resolve(workspace);
  try {
    return resolveInside(workspace, r);
  } catch (e) {
    if (e instanceof PathError) throw ApplicationFailure.nonRetryable(e.message, 'PathOutsideWorkspace');
    throw e;
  }
}

/**
 * Everything generated code gets from our environment: no API key, token or anything else of
 * process.env. The interpreter's own directory comes first on PATH, because a pyenv shim does not
 * work with HOME pointing elsewhere.
 */
export function scrubbedEnv(o: { home: string; pythonPath: string; python: string }): Record<string, string> {
  return {
    PATH: [path.dirname(o.python), process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(path.delimiter),
    HOME: o.home,
    LANG: process.env.LANG ?? 'C.UTF-8',
    PYTHONPATH: o.pythonPath,
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONHASHSEED: '0',
    // Not PYTHONPYCACHEPREFIX (to keep py_compile's .pyc out of the workspace): with a fresh prefix
    // every import, stdlib included, compiles from source: 200 ms instead of 50 per python start.
  };
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Where a run of generated code happens, with what, and what it may touch. */
export interface CodeRun {
  /** The Python root: the working directory and PYTHONPATH. */
  cwd: string;
  python: string;
  /** This run's own directory (HOME, JUnit XML): the caller removes it when done. */
  scratch: string;
  env: Record<string, string>;
  spec: SandboxSpec;
}

/**
 * The Python root (made if missing), the interpreter, a fresh scratch dir with its HOME, the
 * scrubbed environment and the sandbox: the code writes only the Python root and its scratch dir,
 * reads the workspace and the interpreter, and never sees the checkout, the state dir or the
 * worker's home. Tests, criteria checks and the suite all run this way.
 */
export async function prepareCodeRun(
  config: Pick<Config, 'WINGMAN_PYTHON' | 'stateDir'>,
  where: { workspace: string; pythonRoot: string },
  label: string,
): Promise<CodeRun> {
  const cwd = pythonRootDir(where.workspace, where.pythonRoot);
  await mkdir(cwd, { recursive: true });
  const python = await realPython(config.WINGMAN_PYTHON);
  const scratch = await mkdtemp(path.join(tmpdir(), `wingman-${label}-`));
  const home = path.join(scratch, 'home');
  await mkdir(home);
  const spec: SandboxSpec = {
    writable: [cwd, scratch],
    readable: [path.resolve(where.workspace), ...(await pythonDirs(python))],
    hidden: defaultHidden(config.stateDir),
    cwd,
    scratch,
  };
  return { cwd, python, scratch, env: scrubbedEnv({ home, pythonPath: cwd, python }), spec };
}

/**
 * Runs argv without a shell in its own process group (process-run.ts), from the launcher
 * process, in the sandbox. Heartbeats while it runs; cancelling the activity kills the group.
 */
export async function runScrubbed(argv: string[], o: RunOptions, spec: SandboxSpec): Promise<RunResult> {
  const [file] = argv;
  if (!file) throw ApplicationFailure.nonRetryable('empty command', 'BadRequest');
  const ctx = activityContext();
  const beat = ctx ? setInterval(() => ctx.heartbeat(), HEARTBEAT_MS) : undefined;
  try {
    let r: RunResult;
    try {
      r = await runSandboxed(argv, o, spec, ctx?.cancellationSignal);
    } catch (e) {
      // No isolation and none allowed: every run of generated code would fail the same way.
      if (e instanceof IsolationRefused) throw ApplicationFailure.nonRetryable(e.message, 'NoIsolation');
      throw e;
    }
    // Cancelled (batch aborted): say so, rather than report a failed test.
    if (ctx?.cancellationSignal.aborted) throw new CancelledFailure(`cancelled while running ${file}`);
    return r;
  } finally {
    if (beat) clearInterval(beat);
  }
}

type Plan = { argv: string[]; pytest: boolean };

/** Maps an allowed TEST_PROCESS argv to what is actually run (real interpreter, JUnit XML, no cache). */
export function planCommand(argv: string[], python: string, junitXml: string): Plan {
  const [prog, ...rest] = argv;
  const isPython = prog === 'python' || prog === 'python3';
  const pytestArgs =
    prog === 'pytest' ? rest : isPython && rest[0] === '-m' && rest[1] === 'pytest' ? rest.slice(2) : null;
  if (pytestArgs)
    return {
      pytest: true,
      argv: [python, '-m', 'pytest', ...pytestArgs, `--junitxml=${junitXml}`, '-p', 'no:cacheprovider'],
    };
  if (isPython) return { pytest: false, argv: [python, ...rest] };
  return { pytest: false, argv };
}

export interface JunitCounts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

/** Sums the counts of every <testsuite> element (attributes only: no XML library needed). */
export function junitCounts(xml: string): JunitCounts | null {
  let found = false;
  const total: JunitCounts = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const m of xml.matchAll(/<testsuite\b([^>]*)>/g)) {
    found = true;
    const attrs = m[1] ?? '';
    for (const key of Object.keys(total) as Array<keyof JunitCounts>) {
      const v = new RegExp(`\\b${key}\\s*=\\s*["'](\\d+)["']`).exec(attrs)?.[1];
      total[key] += v ? Number(v) : 0;
    }
  }
  return found ? total : null;
}

const PYTEST_EXIT: Record<number, string> = {
  0: 'all tests passed',
  1: 'tests failed',
  2: 'interrupted or collection error',
  3: 'pytest internal error',
  4: 'pytest usage error',
  5: 'no tests collected',
};

export async function runTests(deps: { config: Config; store: ArtifactStore }, input: TestRequest): Promise<TestRun> {
  const req = TestRequest.parse(input);
  // The manifest checked these already; a request from anywhere else is checked again here.
  const runners = deps.config.WINGMAN_ALLOWED_RUNNERS
    ? parseRunners(deps.config.WINGMAN_ALLOWED_RUNNERS)
    : DEFAULT_RUNNERS;
  for (const argv of req.commands) {
    const runner = runnerOf(argv, runners);
    if (!runner) {
      throw ApplicationFailure.nonRetryable(
        `not an allowed test runner: ${argv.join(' ')} (allowed: ${formatRunners(runners)})`,
        'CommandNotAllowed',
      );
    }
    const problems = optionProblems(argv, runner);
    if (problems.length > 0)
      throw ApplicationFailure.nonRetryable(`${problems.join('; ')}: ${argv.join(' ')}`, 'CommandNotAllowed');
  }
  const { cwd, python, scratch, env, spec } = await prepareCodeRun(deps.config, req, 'tests');
  const deadline = Date.now() + deps.config.WINGMAN_TEST_TIMEOUT_MS;
  const timer = startTestTimer();

  let passed = 0;
  let failed = 0;
  let ok = true;
  let timedOut = false;
  const log: string[] = [];
  try {
    for (const [i, argv] of req.commands.entries()) {
      log.push(`$ ${argv.join(' ')}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        log.push(`[not run: the time limit of ${deps.config.WINGMAN_TEST_TIMEOUT_MS} ms was used up]`);
        timedOut = true;
        ok = false;
        failed += 1;
        continue;
      }
      const junit = path.join(scratch, `junit-${i}.xml`);
      const plan = planCommand(argv, python, junit);
      const r = await runScrubbed(
        plan.argv,
        { cwd, env, timeoutMs: remaining, outputCap: deps.config.WINGMAN_TEST_OUTPUT_CAP },
        spec,
      );
      if (r.spawnError)
        throw ApplicationFailure.retryable(`cannot start ${argv[0]}: ${r.spawnError}`, 'TestInfrastructure');
      log.push(r.output.trimEnd());
      if (r.capped) log.push(`[output cap of ${deps.config.WINGMAN_TEST_OUTPUT_CAP} reached: the command was stopped]`);
      if (r.timedOut)
        log.push(`[killed (with its process group) after the time limit of ${deps.config.WINGMAN_TEST_TIMEOUT_MS} ms]`);
      timedOut ||= r.timedOut;

      const counts = plan.pytest ? await pytestCounts(junit, r, argv) : simpleCounts(r);
      passed += counts.passed;
      failed += counts.failed;
      ok &&= counts.ok;
      log.push(`[${counts.verdict}; ${r.durationMs} ms]`, '');
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const output = log.join('\n');
  const outputRef = await deps.store.putBlob(output);
  timer.stop({ ok: ok && !timedOut, timedOut });
  return { ok: ok && !timedOut, passed, failed, summary: tail(output, SUMMARY_BYTES), outputRef, timedOut };
}

function simpleCounts(r: RunResult): { passed: number; failed: number; ok: boolean; verdict: string } {
  const ok = r.exitCode === 0;
  return {
    passed: ok ? 1 : 0,
    failed: ok ? 0 : 1,
    ok,
    verdict: r.exitCode === null ? 'stopped' : `exit ${r.exitCode}`,
  };
}

async function pytestCounts(
  junit: string,
  r: RunResult,
  argv: string[],
): Promise<{ passed: number; failed: number; ok: boolean; verdict: string }> {
  const xml = await readFile(junit, 'utf8').catch(() => null);
  const counts = xml === null ? null : junitCounts(xml);
  if (!counts) {
    // Killed (timeout, output cap) or a usage error (bad option): a result about this command.
    if (r.exitCode === null)
      return { passed: 0, failed: 1, ok: false, verdict: 'stopped before pytest wrote its report' };
    if (r.exitCode === 4) return { passed: 0, failed: 1, ok: false, verdict: 'exit 4: pytest usage error' };
    // pytest ran and wrote nothing: the machine is the problem (disk, permissions), not the code.
    throw ApplicationFailure.retryable(
      `pytest (${argv.join(' ')}) exited ${r.exitCode} without writing its JUnit XML`,
      'TestInfrastructure',
    );
  }
  const bad = counts.failures + counts.errors;
  const passed = Math.max(0, counts.tests - bad - counts.skipped);
  const ok = r.exitCode === 0;
  // A non-zero exit with nothing counted as failed (usage, internal error) still counts one failure;
  // 5 (no tests) counts none.
  const failed = ok || r.exitCode === 5 ? bad : Math.max(bad, 1);
  const why = r.exitCode === null ? 'stopped' : `exit ${r.exitCode}: ${PYTEST_EXIT[r.exitCode] ?? 'unknown exit code'}`;
  return {
    passed,
    failed,
    ok,
    verdict: `${why}; ${counts.tests} tests, ${passed} passed, ${bad} failed or errors, ${counts.skipped} skipped`,
  };
}

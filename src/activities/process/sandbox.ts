// Generated code is untrusted, and a scrubbed environment alone does not isolate it: a process of
// the worker's user reads /proc/<worker>/environ (the API key) and reaches every local port (the
// Temporal frontend, the LLM endpoint). So every command that runs generated code (tests, the
// criteria imports, `bash -n`) is wrapped here:
//   bwrap  its own PID, network, IPC and UTS namespaces (loopback only, nothing outside), a read-only
//          view of the system, the checkout, the state dir, the worker's home, `.env` and /run hidden,
//          only the Python root and the run's scratch dir writable, its own /tmp, no capabilities.
//   uid    where bwrap cannot start but the worker is root: the command runs as a separate
//          unprivileged uid (WINGMAN_SANDBOX_UID, default 65534). Other users' /proc/<pid>/environ
//          and the worker's 0600/0700 files are out of its reach; the network is not isolated.
//   none   only with WINGMAN_ISOLATION=none, said loudly.
// Otherwise the worker refuses to run generated code.
import { execa } from 'execa';
import { existsSync, statSync } from 'node:fs';
import { chown, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isWithin } from '../../instructions/paths.js';
import { launcher } from './launcher.js';
import type { RunOptions, RunResult } from './process-run.js';

export type IsolationKind = 'bwrap' | 'uid' | 'none';
export interface Isolation {
  kind: IsolationKind;
  detail: string;
}

export const IsolationSetting = z.enum(['auto', 'bwrap', 'uid', 'none']);
export type IsolationSetting = z.infer<typeof IsolationSetting>;

/** Raised when generated code would have to run without isolation and nobody asked for that. */
export class IsolationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IsolationRefused';
  }
}

/** What a sandboxed command may touch. */
export interface SandboxSpec {
  /** Directories it may write: the Python root, the run's scratch dir (HOME, JUnit XML). */
  writable: string[];
  /** Directories it reads even when they lie in a hidden one: the workspace, the interpreter's. */
  readable: string[];
  /** Directories and files it must not see: the checkout, the state dir, home, `.env`. */
  hidden: string[];
  /** Its working directory. */
  cwd: string;
  /** The run's own scratch dir (one of `writable`): under the uid fallback, handed to that uid and its TMPDIR. */
  scratch?: string;
}

/** The command to hand to the launcher instead of argv. */
export interface Wrapped {
  argv: string[];
  env: Record<string, string>;
  uid?: number;
  gid?: number;
}

/** The checkout this code runs from: its `.env`, `.temporal/` and sources are none of a test's business. */
export const CHECKOUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * What every sandbox hides: the checkout, the state dir, the worker's home, `.env` and the dev
 * server's data in its cwd, and /run, whose Unix sockets (Docker's, D-Bus) a read-only mount and
 * a network namespace would both leave reachable.
 */
export function defaultHidden(stateDir = process.env.WINGMAN_STATE_DIR || '.wingman'): string[] {
  const cwd = process.cwd();
  return [CHECKOUT, path.resolve(stateDir), homedir(), path.join(cwd, '.env'), path.join(cwd, '.temporal'), '/run'];
}

/**
 * Runs argv from the launcher (no shell, own process group, time limit, output cap) inside the
 * worker's isolation. Rejects with IsolationRefused when there is none and none was allowed.
 */
export async function runSandboxed(
  argv: string[],
  o: RunOptions,
  spec: SandboxSpec,
  signal?: AbortSignal,
): Promise<RunResult> {
  const w = await wrapCommand(await detectIsolation(), argv, o.env, spec);
  return launcher().run(w.argv, { ...o, env: w.env, uid: w.uid, gid: w.gid }, signal);
}

const NAMESPACES = ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts'];

/**
 * The bwrap argv for a command (pure). Mounts go parents first, so a writable Python root inside a
 * hidden checkout is bound back after the checkout is covered, and a hidden state dir inside the
 * workspace is covered after the workspace is bound.
 */
export function bwrapArgv(
  bwrap: string,
  argv: string[],
  env: Record<string, string>,
  spec: SandboxSpec,
  root: boolean,
): string[] {
  type Mount = { at: string; args: string[] };
  const mounts: Mount[] = [];
  // /tmp is a fresh tmpfs already; and "/" (a home of "/") cannot be hidden from what must run.
  const hidden = spec.hidden.flatMap((h) => {
    const st = statOrNull(h);
    return st && !isWithin('/tmp', h) && depth(h) > 0 ? [{ at: h, dir: st.isDirectory() }] : [];
  });
  for (const h of hidden) mounts.push({ at: h.at, args: h.dir ? ['--tmpfs', h.at] : ['--ro-bind', '/dev/null', h.at] });
  for (const r of spec.readable) {
    // Only what a hidden directory or /tmp would otherwise cover needs binding back.
    const covered = isWithin('/tmp', r) || hidden.some((h) => h.dir && isWithin(h.at, r));
    if (covered && existsSync(r)) mounts.push({ at: r, args: ['--ro-bind', r, r] });
  }
  for (const w of spec.writable) mounts.push({ at: w, args: ['--bind', w, w] });
  mounts.sort((a, b) => depth(a.at) - depth(b.at));
  return [
    bwrap,
    ...NAMESPACES,
    '--die-with-parent',
    '--new-session',
    // As root, the sandbox keeps uid 0 but no capability: it cannot remount, nor read past permissions.
    ...(root ? ['--cap-drop', 'ALL'] : []),
    '--ro-bind',
    '/',
    '/',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    ...mounts.flatMap((m) => m.args),
    '--chdir',
    spec.cwd,
    '--clearenv',
    ...Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]),
    '--',
    ...argv,
  ];
}

/** argv (with its scrubbed env) as the launcher must start it under this isolation. */
export async function wrapCommand(
  iso: Isolation,
  argv: string[],
  env: Record<string, string>,
  spec: SandboxSpec,
): Promise<Wrapped> {
  if (iso.kind === 'bwrap') {
    // bwrap itself starts from an empty environment: its PID 1 in the sandbox shows it in /proc/1/environ.
    return { argv: bwrapArgv(await bwrapPath(), argv, env, spec, process.getuid?.() === 0), env: {} };
  }
  if (iso.kind === 'uid') {
    const { uid, gid } = sandboxUser();
    // The run's own scratch dir becomes the sandbox user's; the workspace keeps its owner.
    if (!spec.scratch) return { argv, env, uid, gid };
    await chownTree(spec.scratch, uid, gid);
    return { argv, env: { ...env, TMPDIR: spec.scratch }, uid, gid };
  }
  return { argv, env };
}

let detected: Promise<Isolation> | undefined;

/**
 * The isolation this worker gives generated code, probed once (a tiny bwrap run). Rejects with
 * IsolationRefused when nothing real can start and WINGMAN_ISOLATION is not `none`.
 */
export function detectIsolation(): Promise<Isolation> {
  if (!detected) {
    const raw = process.env.WINGMAN_ISOLATION?.trim() || 'auto';
    const setting = IsolationSetting.safeParse(raw);
    detected = setting.success
      ? probe(setting.data)
      : Promise.reject(new IsolationRefused(`WINGMAN_ISOLATION must be auto, bwrap, uid or none (got "${raw}")`));
  }
  return detected;
}

/** Forgets the probe (tests that change WINGMAN_ISOLATION). */
export function resetIsolation(): void {
  detected = undefined;
}

/** The line `start-batch` and `npm run worker` print. */
export function describeIsolation(iso: Isolation): string {
  if (iso.kind === 'none') return `WARNING: generated code runs WITHOUT isolation (${iso.detail})`;
  return `Isolation of generated code: ${iso.kind} (${iso.detail})`;
}

export interface ProbeSteps {
  bwrap: () => Promise<string | null>;
  uid: () => Promise<string | null>;
}

/** The choice itself (pure given the probes): each probe returns null when it works, else why not. */
export async function chooseIsolation(setting: IsolationSetting, probes: ProbeSteps): Promise<Isolation> {
  if (setting === 'none') return { kind: 'none', detail: 'WINGMAN_ISOLATION=none' };
  const bwrapWhy = setting === 'uid' ? 'not tried (WINGMAN_ISOLATION=uid)' : await probes.bwrap();
  if (bwrapWhy === null)
    return { kind: 'bwrap', detail: 'own PID and network namespaces, read-only system, only the Python root writable' };
  if (setting === 'bwrap') throw new IsolationRefused(`WINGMAN_ISOLATION=bwrap but bwrap cannot start: ${bwrapWhy}`);
  const uidWhy = await probes.uid();
  const { uid } = sandboxUser();
  if (uidWhy === null)
    return { kind: 'uid', detail: `separate uid ${uid}; bwrap unavailable (${bwrapWhy}); network not isolated` };
  throw new IsolationRefused(
    `no isolation for generated code: bwrap cannot start (${bwrapWhy}) and no separate uid (${uidWhy}). ` +
      'Install bubblewrap and allow user namespaces ' +
      '(in Docker: security_opt seccomp=unconfined and apparmor=unconfined), ' +
      'run the worker as root for the uid fallback, or set WINGMAN_ISOLATION=none to run generated code unisolated.',
  );
}

function probe(setting: IsolationSetting): Promise<Isolation> {
  return chooseIsolation(setting, { bwrap: probeBwrap, uid: probeUid });
}

async function probeBwrap(): Promise<string | null> {
  let bwrap: string;
  try {
    bwrap = await bwrapPath();
  } catch (e) {
    return (e as Error).message;
  }
  const spec: SandboxSpec = { writable: [], readable: [], hidden: [], cwd: '/' };
  const argv = bwrapArgv(bwrap, ['/bin/sh', '-c', 'exit 0'], { PATH: '/usr/bin:/bin' }, spec, process.getuid?.() === 0);
  const r = await execa(argv[0]!, argv.slice(1), {
    env: {},
    extendEnv: false,
    reject: false,
    timeout: 10_000,
    all: true,
  });
  return r.exitCode === 0 ? null : (r.all?.trim().split('\n')[0] ?? r.shortMessage) || `exit ${r.exitCode}`;
}

async function probeUid(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'the worker is not root, so it cannot switch to another uid';
  const { uid, gid } = sandboxUser();
  // The interpreter the tests use must run as that uid (a pyenv under a 0700 home does not).
  const python = process.env.WINGMAN_PYTHON?.trim() || 'python3';
  const r = await execa(python, ['-c', 'import sys'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    extendEnv: false,
    reject: false,
    timeout: 10_000,
    uid,
    gid,
    cwd: '/',
    all: true,
  });
  return r.exitCode === 0
    ? null
    : `cannot run ${python} as uid ${uid}: ${(r.all?.trim().split('\n').pop() ?? '') || r.shortMessage}`;
}

function sandboxUser(): { uid: number; gid: number } {
  const uid = Number(process.env.WINGMAN_SANDBOX_UID ?? 65534);
  const gid = Number(process.env.WINGMAN_SANDBOX_GID ?? uid);
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid) || gid <= 0) {
    throw new IsolationRefused('WINGMAN_SANDBOX_UID / WINGMAN_SANDBOX_GID must be positive integers (not root)');
  }
  return { uid, gid };
}

let bwrapFound: Promise<string> | undefined;
function bwrapPath(): Promise<string> {
  bwrapFound ??= (async () => {
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter).concat('/usr/bin')) {
      const p = path.join(dir || '.', 'bwrap');
      if (statOrNull(p)?.isFile()) return path.resolve(p);
    }
    throw new Error('bwrap is not installed (Debian: apt-get install bubblewrap)');
  })();
  return bwrapFound;
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid);
  }
}

function statOrNull(p: string) {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function depth(p: string): number {
  return path.resolve(p).split(path.sep).filter(Boolean).length;
}

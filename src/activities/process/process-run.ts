// One untrusted command: no shell, its own process group, a time limit and an output cap. Runs in
// the launcher process (launcher-main.ts), not in the worker.
import { execa } from 'execa';

const DRAIN_MS = 1_000;

export interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  outputCap: number;
  /** Given on stdin (else stdin is closed). */
  input?: string;
  /** Run as this user and group (the sandbox's uid fallback; the launcher must be root). */
  uid?: number;
  gid?: number;
}
export interface RunResult {
  /** Null when the process did not exit by itself (killed, or could not start). */
  exitCode: number | null;
  output: string;
  timedOut: boolean;
  /** The output cap was reached (the process was stopped). */
  capped: boolean;
  /** Set when the program could not be started at all. */
  spawnError?: string;
  durationMs: number;
}

/**
 * Starts argv in its own process group. On timeout, `kill()`, or as soon as the main process
 * exits, the whole group is killed: nothing a test started outlives it.
 */
export function startProcess(argv: string[], o: RunOptions): { result: Promise<RunResult>; kill(): void } {
  const [file, ...args] = argv;
  if (!file) return { result: Promise.reject(new Error('empty command')), kill() {} };
  const started = Date.now();
  const sub = execa(file, args, {
    cwd: o.cwd,
    env: o.env,
    extendEnv: false,
    detached: true, // its own process group, so one kill reaches every descendant
    ...(o.input === undefined ? { stdin: 'ignore' as const } : { input: o.input }),
    all: true,
    reject: false,
    maxBuffer: o.outputCap,
    stripFinalNewline: false,
    ...(o.uid === undefined ? {} : { uid: o.uid, gid: o.gid }),
  });
  let timedOut = false;
  const killGroup = (): void => {
    if (sub.pid === undefined) return;
    try {
      process.kill(-sub.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is already gone
    }
  };
  // A process that left the group (setsid) but holds our stdout would keep us waiting for ever:
  // once the main process is gone, its output gets a moment to drain, then the pipes are closed.
  let drain: NodeJS.Timeout | undefined;
  const stopWaiting = (): void => {
    killGroup();
    drain ??= setTimeout(() => {
      sub.stdout?.destroy();
      sub.stderr?.destroy();
    }, DRAIN_MS);
  };
  sub.once('exit', stopWaiting);
  const timer = setTimeout(() => {
    timedOut = true;
    stopWaiting();
  }, o.timeoutMs);

  const result = sub
    .then((r) => {
      const spawned = r.exitCode !== undefined || r.signal !== undefined || timedOut || r.isMaxBuffer;
      return {
        exitCode: timedOut || r.isMaxBuffer ? null : (r.exitCode ?? null),
        output: (r.all ?? '').slice(0, o.outputCap),
        timedOut,
        capped: r.isMaxBuffer,
        spawnError: spawned ? undefined : r.shortMessage,
        durationMs: Date.now() - started,
      };
    })
    .finally(() => {
      clearTimeout(timer);
      clearTimeout(drain);
    });
  return { result, kill: killGroup };
}

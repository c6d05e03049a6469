// Child processes a test can crash on purpose: each runs as the leader of its own process group
// (`tsx` spawns `node`, and a SIGKILL to tsx alone would leave node running), so one signal to
// the group reaches everything it started. Every group started here is remembered and killed by
// killAllGroups() (call it in afterAll), and on the test process's own exit as a last resort.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './cli.js';
import { waitFor } from './wait.js';

export interface Exit {
  /** Null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as they arrived. */
  output: string;
  stdout: string;
  stderr: string;
}

export interface GroupProcess {
  pid: number;
  /** Everything printed so far (stdout and stderr interleaved). */
  output(): string;
  stdout(): string;
  exited: Promise<Exit>;
  running(): boolean;
  /** Sends the signal to the whole process group (default SIGKILL) and waits for the leader to exit. */
  killGroup(signal?: NodeJS.Signals): Promise<Exit>;
  /** Resolves when the output matches; rejects when the process exits first or the time runs out. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
}

const live = new Set<number>();

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already
  }
}

process.once('exit', () => {
  for (const pid of live) signalGroup(pid, 'SIGKILL');
});

export function spawnGroup(
  command: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): GroupProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  live.add(pid);
  let all = '';
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    all += d;
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    all += d;
    err += d;
  });
  let done = false;
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      done = true;
      live.delete(pid);
      // The leader is gone; anything it left behind in its group goes too.
      signalGroup(pid, 'SIGKILL');
      resolve({ code, signal, output: all, stdout: out, stderr: err });
    });
    child.once('error', (e) => {
      done = true;
      live.delete(pid);
      resolve({
        code: null,
        signal: null,
        output: `${all}\n${e.message}`,
        stdout: out,
        stderr: `${err}\n${e.message}`,
      });
    });
  });
  return {
    pid,
    output: () => all,
    stdout: () => out,
    exited,
    running: () => !done,
    async killGroup(signal: NodeJS.Signals = 'SIGKILL') {
      signalGroup(pid, signal);
      return exited;
    },
    async waitForOutput(re, timeoutMs = 120_000) {
      await waitFor(
        () => {
          if (re.test(all)) return true;
          if (done) throw new Error(`process ${pid} exited before printing ${re}:\n${all.slice(-3000)}`);
          return false;
        },
        { timeoutMs, what: `output matching ${re} from process ${pid}`, detail: () => all.slice(-3000) },
      );
    },
  };
}

const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

/** The real CLI (`tsx src/<script>.ts`), as a process group the test can SIGKILL. */
export function spawnCli(
  script: 'starter' | 'worker' | 'batch-control',
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): GroupProcess {
  return spawnGroup(tsx, [path.join(repoRoot, 'src', `${script}.ts`), ...args], opts);
}

/** SIGKILLs every group still running that this module started. */
export async function killAllGroups(): Promise<void> {
  const pids = [...live];
  for (const pid of pids) signalGroup(pid, 'SIGKILL');
  await waitFor(() => pids.every((p) => !live.has(p)), {
    timeoutMs: 10_000,
    what: 'killed process groups to exit',
  }).catch(() => undefined);
}

// Test commands are started by a small Node process of our own (launcher-main.ts), not by the
// worker. fork() copies the page tables of the process that calls it: in a worker of 700 MB that
// blocked the event loop ~25 ms per command, 40% of its main thread at 1,000 workers (measured
// with --cpu-prof; README, Performance). From a 50 MB launcher it takes about a millisecond.
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RunOptions, RunResult } from './process-run.js';

const MAIN = fileURLToPath(new URL('./launcher-main.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

interface Pending {
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}
type Reply = { id: number; result: RunResult } | { id: number; error: string };

export class Launcher {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** Runs argv (see process-run.ts); an aborted `signal` kills its process group. */
  run(argv: string[], options: RunOptions, signal?: AbortSignal): Promise<RunResult> {
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Idle, the launcher must not keep the process alive; busy, it must.
      if (this.pending.size === 1) this.ref(child, true);
      child.send({ id, argv, options });
      const kill = () => this.child === child && child.send({ id, kill: true });
      if (signal?.aborted) kill();
      else signal?.addEventListener('abort', kill, { once: true });
    });
  }

  /** The running launcher's pid, if one is running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends the launcher (and whatever it is running); the next run starts a new one. */
  close(): void {
    this.fail(new Error('process launcher closed'));
  }

  private start(): ChildProcess {
    // Its own environment is not passed on (each command gets an explicit one), and it needs none of ours.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: tmpdir(), LANG: process.env.LANG ?? 'C.UTF-8' };
    const child = fork(MAIN, [], {
      execArgv: ['--import', TSX],
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    child.on('message', (reply: Reply) => this.answer(reply));
    const ended = (why: string) => this.child === child && this.fail(new Error(`process launcher ${why}`));
    child.on('error', (err) => ended(`failed: ${err.message}`));
    child.on('exit', (code, signal) => ended(`exited (${signal ?? code})`));
    this.ref(child, false);
    return child;
  }

  private answer(reply: Reply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if ('error' in reply) p.reject(new Error(reply.error));
    else p.resolve(reply.result);
    if (this.pending.size === 0 && this.child) this.ref(this.child, false);
  }

  private fail(err: Error): void {
    const child = this.child;
    this.child = null;
    // Closing the channel makes the launcher kill what it started and exit.
    if (child?.connected) child.disconnect();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }

  private ref(child: ChildProcess, on: boolean): void {
    // The IPC channel holds the event loop open on its own.
    if (on) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }
}

let shared: Launcher | undefined;

/** The launcher of this process, started on first use. */
export function launcher(): Launcher {
  shared ??= new Launcher();
  return shared;
}

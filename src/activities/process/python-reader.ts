// One long-lived Python process per interpreter that parses generated code (python-reader.py).
// Spawning from the worker costs ~30 ms of fork (page tables of a 500 MB process) plus ~25 ms of
// Python start-up; two of those per instruction were a third of the worker's CPU at 1,000 workers.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./python-reader.py', import.meta.url));

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export class PythonReader {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = '';

  constructor(
    private readonly python: string,
    private readonly env: Record<string, string>,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Runs `op` in the reader. A reader that dies or hangs is replaced on the next call. */
  call<T>(op: 'check' | 'names', arg: unknown): Promise<T> {
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new Error(`python reader gave no answer to ${op} in ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      // Idle, the reader must not keep the process alive; busy, it must.
      if (this.pending.size === 1) this.ref(child, true);
      child.stdin.write(`${JSON.stringify({ id, op, arg })}\n`);
    });
  }

  /** The running reader's pid, if one is running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends the reader; the next call starts a new one. */
  close(): void {
    this.fail(new Error('python reader closed'));
  }

  private start(): ChildProcessWithoutNullStreams {
    // -I -S: isolated (no cwd or PYTHON* on sys.path) and no site, so it starts in ~20 ms.
    const child = spawn(this.python, ['-I', '-S', SCRIPT], { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.stderr = '';
    createInterface({ input: child.stdout }).on('line', (line) => this.answer(line));
    child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-2000)));
    child.stdin.on('error', () => {}); // a dead reader is reported by 'exit'
    const ended = (why: string) => {
      if (this.child !== child) return;
      this.fail(new Error(`python reader ${why}${this.stderr ? `: ${this.stderr.trim()}` : ''}`));
    };
    child.on('error', (err) => ended(`could not start (${err.message})`));
    child.on('exit', (code, signal) => ended(`exited (${signal ?? code})`));
    this.ref(child, false);
    return child;
  }

  private answer(line: string): void {
    let reply: { id: number; result?: unknown; error?: string };
    try {
      reply = JSON.parse(line) as typeof reply;
    } catch {
      return this.fail(new Error(`python reader wrote something that is not JSON: ${line.slice(0, 200)}`));
    }
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (reply.error !== undefined) p.reject(new Error(`python reader: ${reply.error}`));
    else p.resolve(reply.result);
    if (this.pending.size === 0 && this.child) this.ref(this.child, false);
  }

  private fail(err: Error): void {
    const child = this.child;
    this.child = null;
    child?.kill('SIGKILL');
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }

  private ref(child: ChildProcessWithoutNullStreams, on: boolean): void {
    // The pipes are sockets, each holding the event loop open on its own.
    for (const handle of [child, child.stdin as unknown as Socket, child.stdout as Socket, child.stderr as Socket]) {
      if (on) handle.ref();
      else handle.unref();
    }
  }
}

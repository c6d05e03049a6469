// Which worker may start next. Pure and deterministic: it runs inside the batch workflow.
//
// Workers are plan indices (the plan is in dependency order, so every edge points forward). Two
// kinds of edges: a worker's dependencies must have *passed* before it starts (otherwise it is
// skipped), and workers that write the same file run one after another in plan order (the
// earlier one only has to have *ended*, whatever its outcome). Event-driven, so a 50,000-worker
// batch costs work proportional to its edges, not workers × finishes.
import { MinHeap } from '../../instructions/ordering.js';
import type { Outcome } from '../../schemas.js';

/** The edges of the plan, by plan index. */
export interface Graph {
  /** Per worker: the earlier workers that must pass first. */
  deps: number[][];
  /** Per worker: the earlier writers of the same files, which must have ended first. */
  after: number[][];
}

/** Where a worker stands when a run (re)builds the schedule. */
export type Standing = 'waiting' | 'running' | 'ended';

/** A worker skipped because `because`, one of its dependencies, did not pass. */
export interface Skip {
  index: number;
  because: number;
}

const PENDING = 0;
const READY = 1;
const RUNNING = 2;
const DONE = 3;

export class Schedule {
  private readonly state: Uint8Array;
  /** How many edges into a worker are still unmet. */
  private readonly unmet: Int32Array;
  /** Edges from a worker to the ones waiting for it, by kind. */
  private readonly depWaiters: number[][];
  private readonly afterWaiters: number[][];
  private readonly ready = new MinHeap<number>((a, b) => a - b);
  private waiting = 0;

  /** `standing` restores what a previous run (before continue-as-new) left; by default nothing has started. */
  constructor(graph: Graph, standing: (index: number) => Standing = () => 'waiting') {
    const n = graph.deps.length;
    this.state = new Uint8Array(n);
    this.unmet = new Int32Array(n);
    this.depWaiters = Array.from({ length: n }, () => []);
    this.afterWaiters = Array.from({ length: n }, () => []);
    for (let i = 0; i < n; i++) {
      const s = standing(i);
      this.state[i] = s === 'ended' ? DONE : s === 'running' ? RUNNING : PENDING;
    }
    for (let i = 0; i < n; i++) {
      const deps = new Set(graph.deps[i]);
      for (const d of deps) this.link(this.depWaiters, d, i);
      for (const a of new Set(graph.after[i])) if (!deps.has(a)) this.link(this.afterWaiters, a, i);
    }
    for (let i = 0; i < n; i++) {
      if (this.state[i] !== PENDING) continue;
      this.waiting += 1;
      if (this.unmet[i] === 0) this.makeReady(i);
    }
  }

  /** The next worker free to start, in plan order, without taking it. */
  peek(): number | undefined {
    return this.ready.peek();
  }

  /** Up to `n` workers free to start, in plan order, without taking them. */
  peekMany(n: number): number[] {
    const out: number[] = [];
    while (out.length < n) {
      const i = this.ready.pop();
      if (i === undefined) break;
      out.push(i);
    }
    for (const i of out) this.ready.push(i);
    return out;
  }

  /** Marks the next ready worker running and returns it. */
  take(): number | undefined {
    const i = this.ready.pop();
    if (i === undefined) return undefined;
    this.state[i] = RUNNING;
    this.waiting -= 1;
    return i;
  }

  /** A running worker ended. Returns the workers that can now never start (a dependency did not pass), transitively. */
  finish(index: number, outcome: Outcome): Skip[] {
    if (this.state[index] !== RUNNING) return [];
    this.state[index] = DONE;
    const skipped: Skip[] = [];
    const ended: Array<[number, boolean]> = [[index, outcome === 'passed']];
    for (let next = ended.pop(); next; next = ended.pop()) {
      const [from, passed] = next;
      for (const to of this.afterWaiters[from]!) this.release(to);
      for (const to of this.depWaiters[from]!) {
        if (passed) this.release(to);
        else if (this.state[to] === PENDING) {
          this.state[to] = DONE;
          this.waiting -= 1;
          skipped.push({ index: to, because: from });
          ended.push([to, false]);
        }
      }
    }
    return skipped;
  }

  /** Marks every worker not started yet as ended (the batch aborted) and returns them in plan order. */
  skipWaiting(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.state.length; i++) {
      if (this.state[i] === PENDING || this.state[i] === READY) {
        this.state[i] = DONE;
        out.push(i);
      }
    }
    while (this.ready.pop() !== undefined);
    this.waiting = 0;
    return out;
  }

  /** Workers not started yet (ready or waiting). */
  get waitingCount(): number {
    return this.waiting;
  }

  private link(waiters: number[][], from: number, to: number): void {
    if (this.state[from] === DONE) return; // ended in an earlier run: nothing left to wait for
    waiters[from]!.push(to);
    this.unmet[to] = this.unmet[to]! + 1;
  }

  private release(to: number): void {
    if (this.state[to] !== PENDING) return;
    this.unmet[to] = this.unmet[to]! - 1;
    if (this.unmet[to] === 0) this.makeReady(to);
  }

  private makeReady(i: number): void {
    this.state[i] = READY;
    this.ready.push(i);
  }
}

// Which worker may start next. Pure and deterministic: it runs inside the batch workflow.
//
// Two kinds of edges: a worker's DEPENDENCIES must have *passed* before it starts (otherwise
// it is skipped), and workers that write the same file run one after another in id order
// (the earlier one only has to have *finished*, whatever its outcome). Event-driven, so a
// 10,000-worker batch costs work proportional to its edges, not workers × finishes.
import type { Outcome, PlanEntry } from '../../schemas.js';

type Node = Pick<PlanEntry, 'id' | 'dependencies' | 'deliverables'>;
type State = 'pending' | 'ready' | 'running' | 'done';
interface Edge {
  to: string;
  mustPass: boolean;
}

export class Schedule {
  private readonly state = new Map<string, State>();
  private readonly outcome = new Map<string, Outcome>();
  /** Edges from a worker to the ones waiting for it. */
  private readonly waiters = new Map<string, Edge[]>();
  /** How many edges into a worker are still unmet. */
  private readonly unmet = new Map<string, number>();
  /** Position in dependency order: ready workers start in this order. */
  private readonly rank = new Map<string, number>();
  private ready: string[] = [];
  private skippedSinceTake: Array<{ id: string; reason: string }> = [];
  private pendingOrReady = 0;

  /** `done` and `running` restore the state a previous run (before continue-as-new) left. */
  constructor(entries: Node[], done: Record<string, Outcome> = {}, running: string[] = []) {
    const ids = new Set(entries.map((e) => e.id));
    const lastWriter = new Map<string, string>();
    const edges: Array<[from: string, to: string, mustPass: boolean]> = [];
    dependencyOrder(entries).forEach((e, i) => {
      this.rank.set(e.id, i);
      for (const d of e.dependencies) if (ids.has(d)) edges.push([d, e.id, true]);
      for (const file of e.deliverables) {
        const previous = lastWriter.get(file);
        if (previous && !e.dependencies.includes(previous)) edges.push([previous, e.id, false]);
        lastWriter.set(file, e.id);
      }
    });
    const isRunning = new Set(running);
    for (const e of entries) {
      this.unmet.set(e.id, 0);
      this.state.set(e.id, 'pending');
    }
    for (const [from, to, mustPass] of edges) {
      const list = this.waiters.get(from) ?? [];
      if (!list.some((x) => x.to === to)) {
        list.push({ to, mustPass });
        this.waiters.set(from, list);
        this.unmet.set(to, (this.unmet.get(to) ?? 0) + 1);
      } else if (mustPass) list.find((x) => x.to === to)!.mustPass = true;
    }
    this.pendingOrReady = entries.length;
    for (const e of entries) if (isRunning.has(e.id) && !done[e.id]) this.markRunning(e.id);
    // Replay the finished ones in dependency order so cascades resolve as they did.
    for (const e of dependencyOrder(entries)) {
      const o = done[e.id];
      // finish() handles every state; marking a worker that an earlier replay made ready as
      // running would leave it in the ready list, to be started a second time.
      if (o && this.state.get(e.id) !== 'done') this.finish(e.id, o);
    }
    for (const e of entries) if (this.state.get(e.id) === 'pending' && this.unmet.get(e.id) === 0) this.makeReady(e.id);
    // Skips caused by outcomes a previous run already recorded were reported then.
    this.skippedSinceTake = this.skippedSinceTake.filter((s) => !(s.id in done));
  }

  /**
   * Up to `limit` ids that may start now, marked running, and the workers skipped since the
   * last call because a dependency did not pass.
   */
  take(limit: number): { start: string[]; skipped: Array<{ id: string; reason: string }> } {
    const skipped = this.skippedSinceTake;
    this.skippedSinceTake = [];
    if (limit <= 0 || this.ready.length === 0) return { start: [], skipped };
    const start = this.ready.splice(0, limit);
    for (const id of start) this.markRunning(id);
    return { start, skipped };
  }

  finish(id: string, outcome: Outcome): void {
    if (this.state.get(id) === 'done') return;
    if (this.state.get(id) !== 'running') this.pendingOrReady -= 1;
    if (this.state.get(id) === 'ready') this.ready = this.ready.filter((r) => r !== id);
    this.state.set(id, 'done');
    this.outcome.set(id, outcome);
    for (const { to, mustPass } of this.waiters.get(id) ?? []) {
      const s = this.state.get(to);
      if (s === 'done' || s === 'running') continue;
      if (mustPass && outcome !== 'passed') {
        this.skippedSinceTake.push({ id: to, reason: `dependency ${id} ended ${outcome}` });
        this.finish(to, 'skipped');
        continue;
      }
      const left = this.unmet.get(to)! - 1;
      this.unmet.set(to, left);
      if (left === 0 && s === 'pending') this.makeReady(to);
    }
  }

  /** Marks every worker not yet started skipped (the batch aborted) and returns their ids. */
  skipPending(): string[] {
    const ids = [...this.state].filter(([, s]) => s === 'pending' || s === 'ready').map(([id]) => id);
    for (const id of ids) {
      this.state.set(id, 'done');
      this.outcome.set(id, 'skipped');
    }
    this.ready = [];
    this.pendingOrReady = 0;
    return ids.sort((a, b) => this.rank.get(a)! - this.rank.get(b)!);
  }

  /** Workers not started yet (ready or waiting). */
  get pendingCount(): number {
    return this.pendingOrReady;
  }

  outcomeOf(id: string): Outcome | undefined {
    return this.outcome.get(id);
  }

  private markRunning(id: string): void {
    this.state.set(id, 'running');
    this.pendingOrReady -= 1;
  }

  private makeReady(id: string): void {
    this.state.set(id, 'ready');
    insertSorted(this.ready, id, (a, b) => this.rank.get(a)! - this.rank.get(b)!);
  }
}

/**
 * Entries with every dependency before its dependents, ties broken by id. Ordering same-file
 * writers this way (rather than by id alone) keeps the two kinds of edges from deadlocking.
 */
export function dependencyOrder<T extends Node>(entries: T[]): T[] {
  const ids = new Set(entries.map((e) => e.id));
  const byId = new Map(entries.map((e) => [e.id, e]));
  const indegree = new Map(entries.map((e) => [e.id, e.dependencies.filter((d) => ids.has(d)).length]));
  const dependents = new Map<string, string[]>();
  for (const e of entries) for (const d of e.dependencies) if (ids.has(d)) dependents.set(d, [...(dependents.get(d) ?? []), e.id]);
  // Kept sorted with the largest id last, so the next one is a pop.
  const byIdDesc = (a: string, b: string) => compareIds(b, a);
  const available = entries.filter((e) => indegree.get(e.id) === 0).map((e) => e.id).sort(byIdDesc);
  const out: T[] = [];
  while (available.length) {
    const id = available.pop()!;
    out.push(byId.get(id)!);
    for (const next of dependents.get(id) ?? []) {
      const left = indegree.get(next)! - 1;
      indegree.set(next, left);
      if (left === 0) insertSorted(available, next, byIdDesc);
    }
  }
  // A cycle was refused before the batch started; keep any remainder rather than lose it.
  if (out.length < entries.length) out.push(...entries.filter((e) => !out.includes(e)).sort((a, b) => compareIds(a.id, b.id)));
  return out;
}

function insertSorted<T>(list: T[], item: T, compare: (a: T, b: T) => number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compare(list[mid]!, item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}

/** WORKER_2 before WORKER_10: by number, not by string. */
export function compareIds(a: string, b: string): number {
  const na = Number(a.replace(/\D/g, ''));
  const nb = Number(b.replace(/\D/g, ''));
  return na - nb || a.localeCompare(b);
}

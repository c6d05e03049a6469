// Which worker may start next. Pure and deterministic: it runs inside the batch workflow.
//
// Two kinds of edges: a worker's DEPENDENCIES must have *passed* before it starts (otherwise
// it is skipped), and workers that write the same file run one after another in id order
// (the earlier one only has to have *finished*, whatever its outcome).
import type { ManifestEntry, Outcome } from '../schemas.js';

type State = { kind: 'pending' } | { kind: 'running' } | { kind: 'done'; outcome: Outcome };

export class Schedule {
  private readonly state = new Map<string, State>();
  private readonly mustPass = new Map<string, string[]>();
  private readonly mustFinish = new Map<string, string[]>();
  /** Pending ids in manifest order: readiness is checked in this order, so starts are stable. */
  private pending: string[];

  constructor(entries: ManifestEntry[], done: Record<string, Outcome> = {}) {
    const ids = new Set(entries.map((e) => e.id));
    const lastWriter = new Map<string, string>();
    for (const e of dependencyOrder(entries)) {
      this.mustPass.set(e.id, e.dependencies.filter((d) => ids.has(d)));
      const before: string[] = [];
      for (const file of e.deliverables) {
        const previous = lastWriter.get(file);
        if (previous && !before.includes(previous)) before.push(previous);
        lastWriter.set(file, e.id);
      }
      this.mustFinish.set(e.id, before);
    }
    for (const e of entries) {
      const outcome = done[e.id];
      this.state.set(e.id, outcome ? { kind: 'done', outcome } : { kind: 'pending' });
    }
    this.pending = entries.map((e) => e.id).filter((id) => !done[id]);
  }

  /**
   * Up to `limit` ids that may start now, marked running. Pending workers whose dependency
   * did not pass are marked skipped on the way and returned in `skipped`.
   */
  take(limit: number): { start: string[]; skipped: Array<{ id: string; reason: string }> } {
    const start: string[] = [];
    const skipped: Array<{ id: string; reason: string }> = [];
    // Skips can cascade (A failed → B skipped → C skipped), so sweep until nothing changes.
    for (let changed = true; changed; ) {
      changed = false;
      for (const id of this.pending) {
        const failedDep = (this.mustPass.get(id) ?? []).find((d) => {
          const s = this.state.get(d);
          return s?.kind === 'done' && s.outcome !== 'passed';
        });
        if (failedDep) {
          const s = this.state.get(failedDep) as { kind: 'done'; outcome: Outcome };
          this.state.set(id, { kind: 'done', outcome: 'skipped' });
          skipped.push({ id, reason: `dependency ${failedDep} ended ${s.outcome}` });
          changed = true;
        }
      }
      if (changed) this.pending = this.pending.filter((id) => this.state.get(id)?.kind === 'pending');
    }
    for (const id of this.pending) {
      if (start.length >= limit) break;
      const passed = (this.mustPass.get(id) ?? []).every((d) => this.outcomeOf(d) === 'passed');
      const finished = (this.mustFinish.get(id) ?? []).every((d) => this.state.get(d)?.kind === 'done');
      if (passed && finished) start.push(id);
    }
    for (const id of start) this.state.set(id, { kind: 'running' });
    if (start.length) this.pending = this.pending.filter((id) => this.state.get(id)?.kind === 'pending');
    return { start, skipped };
  }

  finish(id: string, outcome: Outcome): void {
    this.state.set(id, { kind: 'done', outcome });
  }

  /** Marks every pending worker skipped (the batch aborted) and returns their ids. */
  skipPending(): string[] {
    const ids = this.pending;
    for (const id of ids) this.state.set(id, { kind: 'done', outcome: 'skipped' });
    this.pending = [];
    return ids;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  outcomeOf(id: string): Outcome | undefined {
    const s = this.state.get(id);
    return s?.kind === 'done' ? s.outcome : undefined;
  }
}

/**
 * Entries with every dependency before its dependents, ties broken by id. Ordering same-file
 * writers this way (rather than by id alone) keeps the two kinds of edges from deadlocking.
 */
export function dependencyOrder(entries: ManifestEntry[]): ManifestEntry[] {
  const ids = new Set(entries.map((e) => e.id));
  const left = [...entries].sort((a, b) => compareIds(a.id, b.id));
  const placed = new Set<string>();
  const out: ManifestEntry[] = [];
  while (left.length) {
    const i = left.findIndex((e) => e.dependencies.every((d) => placed.has(d) || !ids.has(d)));
    // A cycle was refused before the batch started; take the rest in id order rather than loop.
    const [e] = left.splice(i === -1 ? 0 : i, 1) as [ManifestEntry];
    placed.add(e.id);
    out.push(e);
  }
  return out;
}

/** WORKER_2 before WORKER_10: by number, not by string. */
export function compareIds(a: string, b: string): number {
  const na = Number(a.replace(/\D/g, ''));
  const nb = Number(b.replace(/\D/g, ''));
  return na - nb || a.localeCompare(b);
}

// The one id comparison and the one topological order, shared by the planner (manifest, dry-run
// plan) and the batch's scheduler. Pure and locale-free: it runs inside workflow code too.

/** Code-unit order, not the locale's: the same on every machine and in every replay. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders ids by their number (WORKER_2 before WORKER_10), then as written (WORKER_1 before WORKER_001). */
export function compareIds(a: string, b: string): number {
  const da = a.replace(/^\D*/, '').replace(/^0+(?=\d)/, '');
  const db = b.replace(/^\D*/, '').replace(/^0+(?=\d)/, '');
  if (da.length !== db.length) return da.length - db.length;
  if (da !== db) return da < db ? -1 : 1;
  return compareText(a, b);
}

interface Node {
  id: string;
  dependencies: string[];
}

/**
 * Every dependency before its dependents; among the workers free to go, the lowest id first.
 * Dependencies on ids not among the entries are ignored (dropped with `--only`, or done earlier).
 * `blocked` holds the workers on or behind a dependency cycle, in id order. Iterative, so
 * 10,000 chained workers neither recurse nor go quadratic.
 */
export function dependencyOrder<T extends Node>(entries: T[]): { order: T[]; blocked: T[] } {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const e of entries) {
    const deps = [...new Set(e.dependencies)].filter((d) => byId.has(d) && d !== e.id);
    waiting.set(e.id, deps.length + (e.dependencies.includes(e.id) ? 1 : 0));
    for (const d of deps) {
      const list = dependents.get(d);
      if (list) list.push(e.id);
      else dependents.set(d, [e.id]);
    }
  }
  const available = new MinHeap<string>(compareIds);
  for (const e of entries) if (waiting.get(e.id) === 0) available.push(e.id);
  const order: T[] = [];
  for (let id = available.pop(); id !== undefined; id = available.pop()) {
    order.push(byId.get(id)!);
    for (const next of dependents.get(id) ?? []) {
      const left = waiting.get(next)! - 1;
      waiting.set(next, left);
      if (left === 0) available.push(next);
    }
  }
  const blocked = entries.filter((e) => waiting.get(e.id)! > 0).sort((a, b) => compareIds(a.id, b.id));
  return { order, blocked };
}

/** A binary heap: the next worker free to go in O(log n), however many are waiting. */
export class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly compare: (a: T, b: T) => number) {}

  push(item: T): void {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (this.compare(a[i]!, a[parent]!) >= 0) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && this.compare(a[l]!, a[m]!) < 0) m = l;
      if (r < a.length && this.compare(a[r]!, a[m]!) < 0) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
    return top;
  }
}

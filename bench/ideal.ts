// The best makespan any scheduler could reach for a workload: no worker can start before the
// ones it waits for have finished (the critical path), and no more than `concurrency` run at
// once (the total work spread evenly over the slots).
//
//   work(w)  = LLM latency of w + the fixed per-worker cost (its own steps, measured alone)
//   ideal    = max(critical path of work, Σ work ÷ concurrency)
import { predecessors, type BenchWorker } from './workload.js';

export interface Ideal {
  fixedCostMs: number;
  criticalPathMs: number;
  /** The workers on the critical path, first to last. */
  criticalPath: string[];
  totalWorkMs: number;
  workBoundMs: number;
  idealMs: number;
  bound: 'critical path' | 'work ÷ concurrency';
}

export function ideal(workers: BenchWorker[], concurrency: number, fixedCostMs: number): Ideal {
  const preds = predecessors(workers);
  const finish = new Map<string, number>();
  const via = new Map<string, string | null>();
  // Ids are in dependency order (the workload is generated that way).
  for (const w of workers) {
    let start = 0;
    let from: string | null = null;
    for (const p of preds.get(w.id) ?? []) {
      const f = finish.get(p);
      if (f === undefined) throw new Error(`${w.id} depends on ${p}, which comes later`);
      if (f > start) [start, from] = [f, p];
    }
    finish.set(w.id, start + w.latencyMs + fixedCostMs);
    via.set(w.id, from);
  }
  let last = workers[0]!.id;
  for (const w of workers) if (finish.get(w.id)! > finish.get(last)!) last = w.id;
  const path: string[] = [];
  for (let id: string | null = last; id; id = via.get(id) ?? null) path.unshift(id);
  const criticalPathMs = finish.get(last)!;
  const totalWorkMs = workers.reduce((s, w) => s + w.latencyMs + fixedCostMs, 0);
  const workBoundMs = totalWorkMs / concurrency;
  return {
    fixedCostMs,
    criticalPathMs,
    criticalPath: path,
    totalWorkMs,
    workBoundMs,
    idealMs: Math.max(criticalPathMs, workBoundMs),
    bound: criticalPathMs >= workBoundMs ? 'critical path' : 'work ÷ concurrency',
  };
}

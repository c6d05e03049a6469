// Whether memory stays flat across continue-as-new: the worker process's and the dev server's RSS,
// sampled every few seconds while a batch runs, read against the times each run of the batch
// started and ended (from its histories). A worker that kept something per run would end each run
// higher than the one before.
import type { temporal } from '@temporalio/proto';
import { at } from './history.js';
import type { Proc } from './procs.js';

type History = temporal.api.history.v1.IHistory;

export interface RssSample {
  /** Wall clock, ms since the epoch (the server's event times are on the same machine's clock). */
  atMs: number;
  workerMb: number;
  serverMb: number;
  /** The workspace worker of the split shape. */
  workspaceWorkerMb?: number;
}

/** Samples now and every `everyMs` until the returned function is called; it returns the samples. */
export function sampleRss(
  procs: { worker: Proc; server: Proc; workspaceWorker?: Proc },
  everyMs = 2_000,
): () => RssSample[] {
  const samples: RssSample[] = [];
  const take = () => {
    const w = procs.worker.stats();
    const s = procs.server.stats();
    if (!w || !s) return;
    const ws = procs.workspaceWorker?.stats();
    samples.push({
      atMs: Date.now(),
      workerMb: w.rssMb,
      serverMb: s.rssMb,
      ...(ws ? { workspaceWorkerMb: ws.rssMb } : {}),
    });
  };
  take();
  const timer = setInterval(take, everyMs);
  return () => {
    clearInterval(timer);
    take();
    return samples;
  };
}

export interface RunSpan {
  startMs: number;
  endMs: number;
}

/** When each run of a continue-as-new chain started and ended: its first and last events. */
export function runSpans(runs: History[]): RunSpan[] {
  return runs
    .map((h) => h.events ?? [])
    .filter((evs) => evs.length > 0)
    .map((evs) => ({ startMs: at(evs[0]!), endMs: at(evs[evs.length - 1]!) }));
}

export interface RssAcrossRuns {
  runs: number;
  /** The last sample taken before each run ended, MB (NaN: none that early). */
  runEndMb: number[];
  firstRunEndMb: number;
  lastRunEndMb: number;
  maxMb: number;
}

/** RSS at the end of each run and the highest sampled, from one process's samples. */
export function rssAcrossRuns(samples: Array<{ atMs: number; mb: number }>, spans: RunSpan[]): RssAcrossRuns {
  const sorted = [...samples].sort((a, b) => a.atMs - b.atMs);
  const runEndMb = spans.map((s) => sorted.filter((x) => x.atMs <= s.endMs).at(-1)?.mb ?? NaN);
  return {
    runs: spans.length,
    runEndMb,
    firstRunEndMb: runEndMb[0] ?? NaN,
    lastRunEndMb: runEndMb.at(-1) ?? NaN,
    maxMb: sorted.length ? Math.max(...sorted.map((x) => x.mb)) : NaN,
  };
}

/** One line: "worker RSS across N batch runs: first run end X MB, last run end Y MB, max Z MB". */
export function describeRss(what: string, r: RssAcrossRuns): string {
  const mb = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} MB` : 'n/a');
  const runs = `${r.runs} batch run${r.runs === 1 ? '' : 's'}`;
  const ends = `first run end ${mb(r.firstRunEndMb)}, last run end ${mb(r.lastRunEndMb)}`;
  return `${what} RSS across ${runs}: ${ends}, max ${mb(r.maxMb)}`;
}

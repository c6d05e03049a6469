// The parent of one batch: starts a child per instruction as a sliding window (no barrier),
// keeps counters and cost, aborts on thresholds or budget, and writes the report.
import {
  CancellationScope, ChildWorkflowFailure, condition, executeChild, isCancellation, proxyActivities,
  setCurrentDetails, setHandler,
} from '@temporalio/workflow';
import type { ReportActivities } from '../activities/types.js';
import type { BatchInput, BatchSummary, Counts, Outcome, Progress, Thresholds, WorkerResult } from '../schemas.js';
import { BATCH_ID, WORKER_ID } from '../search-attributes.js';
import { abortSignal, pauseSignal, progressQuery, resumeSignal, setConcurrencyUpdate, workerWorkflowId } from './definitions.js';
import { Schedule } from './schedule.js';
import { workerWorkflow } from './worker.js';

const OUTCOME_KEYS: Outcome[] = ['passed', 'failed', 'guide', 'llm_timeout', 'error', 'skipped'];

export async function batchWorkflow(input: BatchInput): Promise<BatchSummary> {
  const { batchId, manifest, options } = input;
  const startedAt = new Date().toISOString();
  const byId = new Map(manifest.map((e) => [e.id, e]));
  const schedule = new Schedule(manifest);
  const counts = Object.fromEntries(OUTCOME_KEYS.map((o) => [o, 0])) as Counts;
  const tokens = { prompt: 0, completion: 0 };
  const running = new Set<string>();
  const notRun: Array<{ id: string; reason: string }> = [];
  let costUsd = 0;
  let concurrency = options.concurrency;
  let paused = false;
  let abortReason: string | null = null;
  let changed = false;

  const progress = (): Progress => ({
    batchId,
    state: abortReason ? (running.size ? 'aborting' : 'aborted') : paused ? 'paused' : 'running',
    total: manifest.length,
    counts: { ...counts },
    running: [...running],
    concurrency,
    costUsd,
    tokens: { ...tokens },
    startedAt,
    abortReason,
  });
  const abort = (reason: string) => {
    if (abortReason) return;
    abortReason = reason;
    children.cancel();
    changed = true;
  };

  setHandler(progressQuery, progress);
  setHandler(pauseSignal, () => {
    paused = true;
    changed = true;
  });
  setHandler(resumeSignal, () => {
    paused = false;
    changed = true;
  });
  setHandler(abortSignal, (reason) => abort(reason ? `aborted by operator: ${reason}` : 'aborted by operator'));
  setHandler(
    setConcurrencyUpdate,
    (n) => {
      concurrency = n;
      changed = true;
      return concurrency;
    },
    { validator: (n) => {
      if (!Number.isInteger(n) || n < 1 || n > 2000) throw new Error('concurrency must be an integer from 1 to 2000');
    } },
  );

  // Cancelling this scope cancels every running child (abort).
  const children = new CancellationScope();

  const record = (id: string, outcome: Outcome, result?: WorkerResult) => {
    running.delete(id);
    schedule.finish(id, outcome);
    counts[outcome] += 1;
    if (result) {
      costUsd += result.costUsd;
      tokens.prompt += result.tokens.prompt;
      tokens.completion += result.tokens.completion;
    }
    changed = true;
    const reason = abortReason ?? thresholdBreached(counts, options.thresholds) ?? budgetBreached(costUsd, options.budgetUsd);
    if (reason) abort(reason);
  };

  const launch = (id: string) => {
    const entry = byId.get(id)!;
    running.add(id);
    const dependencyFiles = [...new Set(entry.dependencies.flatMap((d) => byId.get(d)?.deliverables ?? []))];
    children
      .run(() =>
        executeChild(workerWorkflow, {
          workflowId: workerWorkflowId(batchId, id),
          args: [{ batchId, entry, dependencyFiles, options }],
          typedSearchAttributes: [
            { key: BATCH_ID, value: batchId },
            { key: WORKER_ID, value: id },
          ],
          staticSummary: `${id}: ${entry.name}`,
          staticDetails: `writes ${entry.deliverables.join(', ')}; provider ${entry.provider}`,
        }),
      )
      .then(
        (result) => record(id, result.outcome, result),
        (err) => {
          if (abortReason || isCancellation(err) || isCancellation((err as ChildWorkflowFailure).cause)) {
            notRun.push({ id, reason: abortReason ? `cancelled: ${abortReason}` : 'cancelled' });
            record(id, 'skipped');
          } else {
            notRun.push({ id, reason: `worker workflow failed: ${(err as Error).message}` });
            record(id, 'error');
          }
        },
      );
  };

  const skip = (items: Array<{ id: string; reason: string }>) => {
    for (const item of items) {
      counts.skipped += 1;
      notRun.push(item);
    }
  };

  while (!abortReason) {
    if (!paused) {
      const { start, skipped } = schedule.take(Math.max(0, concurrency - running.size));
      skip(skipped);
      start.forEach(launch);
    }
    setCurrentDetails(describeProgress(progress()));
    if (schedule.pendingCount === 0 && running.size === 0) break;
    changed = false;
    await condition(() => changed);
  }

  if (abortReason) {
    await condition(() => running.size === 0);
    skip(schedule.skipPending().map((id) => ({ id, reason: `not started: ${abortReason}` })));
  }

  const finishedAt = new Date().toISOString();
  const summary: BatchSummary = {
    batchId,
    status: abortReason ? 'aborted' : 'completed',
    abortReason,
    counts,
    costUsd,
    tokens,
    startedAt,
    finishedAt,
    reportPath: options.reportPath,
  };
  const { writeReport } = proxyActivities<ReportActivities>({
    taskQueue: options.workspaceQueue,
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 10 },
  });
  await CancellationScope.nonCancellable(() =>
    writeReport({
      reportPath: options.reportPath,
      summary: { batchId, status: summary.status, abortReason, counts, costUsd, tokens, startedAt, finishedAt },
      workers: manifest.map((e) => ({ id: e.id, name: e.name })),
      notRun,
    }),
  );
  setCurrentDetails(describeProgress(progress()));
  return summary;
}

/** The reason to abort, once at least `minSample` workers have finished (skipped ones do not count). */
export function thresholdBreached(counts: Counts, t: Thresholds): string | null {
  const finished = counts.passed + counts.failed + counts.guide + counts.llm_timeout + counts.error;
  if (finished < t.minSample || finished === 0) return null;
  const over = (n: number, rate: number, what: string) =>
    n / finished > rate ? `${what}: ${n} of ${finished} finished workers (${pct(n / finished)} > ${pct(rate)})` : null;
  return (
    over(counts.guide, t.guideRate, 'too many guides') ??
    over(counts.failed, t.failedRate, 'too many test failures') ??
    over(counts.llm_timeout, t.llmTimeoutRate, 'too many LLM timeouts')
  );
}

export function budgetBreached(costUsd: number, budgetUsd: number): string | null {
  return costUsd > budgetUsd ? `budget exceeded: spent $${costUsd.toFixed(4)} of $${budgetUsd.toFixed(2)}` : null;
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

function describeProgress(p: Progress): string {
  const done = OUTCOME_KEYS.map((o) => `${o} ${p.counts[o]}`).join(', ');
  return `${p.state}: ${done}; running ${p.running.length}/${p.concurrency}; $${p.costUsd.toFixed(4)}`;
}

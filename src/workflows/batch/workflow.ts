// The parent of one batch: starts a child per instruction as a sliding window (no barrier),
// keeps counters and cost, aborts on thresholds or budget, and writes the report.
//
// Children are started with ParentClosePolicy.ABANDON and report back by signal to the
// batch's workflow id, so the parent can continue as new (keeping its history small) while
// they run: the pattern of Temporal's batch-sliding-window sample.
import {
  CancellationScope, ParentClosePolicy, WorkflowIdReusePolicy, allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle,
  isCancellation, proxyActivities, setCurrentDetails, setHandler, startChild, workflowInfo,
} from '@temporalio/workflow';
import type { ManifestActivities, ReportActivities } from '../../activities/types.js';
import type { BatchInput, BatchState, BatchSummary, Counts, Outcome, PlanEntry, Progress, Thresholds, InstructionDone } from '../../schemas.js';
import { BATCH_ID, WORKER_ID } from '../../temporal/search-attributes.js';
import {
  abortSignal, pauseSignal, progressQuery, resumeSignal, setConcurrencyUpdate, instructionDoneSignal, instructionWorkflowId,
} from './messages.js';
import { Schedule } from './schedule.js';
import type { instructionWorkflow } from '../instruction/workflow.js';

const OUTCOME_KEYS: Outcome[] = ['passed', 'failed', 'guide', 'llm_timeout', 'error', 'skipped'];
/** Continue as new well before Temporal's 51,200-event / 50 MB limits (warnings at 10K / 10 MB). */
const MAX_HISTORY_EVENTS = 8_000;
const MAX_HISTORY_BYTES = 8 * 1024 * 1024;

export async function batchWorkflow(input: BatchInput): Promise<BatchSummary> {
  const { batchId, options } = input;
  const { loadPlan, writeReport } = proxyActivities<ManifestActivities & ReportActivities>({
    taskQueue: options.workspaceQueue,
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 10 },
  });
  const state: BatchState = input.state ?? {
    startedAt: new Date().toISOString(),
    counts: Object.fromEntries(OUTCOME_KEYS.map((o) => [o, 0])) as Counts,
    costUsd: 0,
    tokens: { prompt: 0, completion: 0 },
    outcomes: {},
    running: [],
    notRun: [],
    concurrency: options.concurrency,
    paused: false,
    abortReason: null,
    runs: 0,
  };
  const running = new Set(state.running);
  let changed = false;

  const progress = (): Progress => ({
    batchId,
    state: state.abortReason ? (running.size ? 'aborting' : 'aborted') : state.paused ? 'paused' : 'running',
    total: input.manifest.total,
    counts: { ...(state.counts as Counts) },
    running: [...running],
    concurrency: state.concurrency,
    costUsd: state.costUsd,
    tokens: { ...state.tokens },
    startedAt: state.startedAt,
    abortReason: state.abortReason,
  });
  const cancelRunning = () => {
    for (const id of running) {
      getExternalWorkflowHandle(instructionWorkflowId(batchId, id)).cancel().catch(() => {
        // Already closed: its report is on the way or already in.
      });
    }
  };
  const abort = (reason: string) => {
    if (state.abortReason) return;
    state.abortReason = reason;
    cancelRunning();
    changed = true;
  };

  // Handlers first: signals that arrived while the plan loads must not be lost.
  let schedule: Schedule | undefined;
  const record = (done: InstructionDone) => {
    if (!running.has(done.id)) return; // a duplicate (signal and child result both report)
    running.delete(done.id);
    schedule?.finish(done.id, done.outcome);
    state.outcomes[done.id] = done.outcome;
    state.counts[done.outcome] = (state.counts[done.outcome] ?? 0) + 1;
    state.costUsd += done.costUsd;
    state.tokens.prompt += done.tokens.prompt;
    state.tokens.completion += done.tokens.completion;
    changed = true;
    const reason = thresholdBreached(state.counts as Counts, options.thresholds) ?? budgetBreached(state.costUsd, options.budgetUsd);
    if (reason) abort(reason);
  };
  const notRun = (id: string, reason: string, outcome: Outcome) => {
    state.notRun.push({ id, reason });
    record({ id, outcome, costUsd: 0, tokens: { prompt: 0, completion: 0 } });
  };
  setHandler(instructionDoneSignal, (done) => {
    if (done.outcome === 'skipped' && running.has(done.id)) state.notRun.push({ id: done.id, reason: `cancelled: ${state.abortReason ?? 'by request'}` });
    record(done);
  });
  setHandler(progressQuery, progress);
  setHandler(pauseSignal, () => {
    state.paused = true;
    changed = true;
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
    changed = true;
  });
  setHandler(abortSignal, (reason) => abort(reason ? `aborted by operator: ${reason}` : 'aborted by operator'));
  setHandler(
    setConcurrencyUpdate,
    (n) => {
      state.concurrency = n;
      changed = true;
      return n;
    },
    {
      validator: (n) => {
        // Temporal allows at most 2,000 pending children per workflow.
        if (!Number.isInteger(n) || n < 1 || n > 2000) throw new Error('concurrency must be an integer from 1 to 2000');
      },
    },
  );

  const plan = await loadPlan(input.manifest);
  const byId = new Map<string, PlanEntry>(plan.map((e) => [e.id, e]));
  schedule = new Schedule(plan, state.outcomes, [...running]);
  if (state.abortReason) cancelRunning(); // aborted just before continuing as new

  // Children whose start is not confirmed yet: a run that closes first never starts them.
  let starting = 0;
  const launch = (id: string) => {
    const entry = byId.get(id)!;
    running.add(id);
    starting += 1;
    const dependencyFiles = [...new Set(entry.dependencies.flatMap((d) => byId.get(d)?.deliverables ?? []))];
    startChild<typeof instructionWorkflow>('instructionWorkflow', {
      workflowId: instructionWorkflowId(batchId, id),
      args: [{ batchId, workerId: id, manifest: input.manifest, dependencyFiles, options }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A worker of a batch runs once: a bug that launched it again must not pay for it again.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: BATCH_ID, value: batchId },
        { key: WORKER_ID, value: id },
      ],
      staticSummary: `${id}: ${entry.name}`,
      staticDetails: `writes ${entry.deliverables.join(', ')}; primary provider ${entry.provider}`,
    }).then(
      // A child that dies without signalling (terminated, or failed its own code) still counts.
      (child) => {
        starting -= 1;
        return child.result().catch((err) => {
          if (!running.has(id)) return;
          if (isCancellation(err) || state.abortReason) notRun(id, `cancelled: ${state.abortReason ?? 'by request'}`, 'skipped');
          else notRun(id, `worker workflow failed: ${(err as Error).message}`, 'error');
        });
      },
      (err) => {
        starting -= 1;
        notRun(id, `could not start: ${(err as Error).message}`, 'error');
      },
    );
  };

  for (;;) {
    // Starting children in the task that continues as new would lose them: stop launching first.
    const wantsNewRun = historyIsLarge();
    if (!wantsNewRun && !state.paused && !state.abortReason) {
      const { start, skipped } = schedule.take(Math.max(0, state.concurrency - running.size));
      for (const s of skipped) {
        state.notRun.push(s);
        state.outcomes[s.id] = 'skipped';
        state.counts.skipped = (state.counts.skipped ?? 0) + 1;
      }
      start.forEach(launch);
    }
    setCurrentDetails(describeProgress(progress()));
    if (running.size === 0 && (schedule.pendingCount === 0 || state.abortReason)) break;
    if (wantsNewRun) {
      // Every launched child started, in-flight handlers finished; then carry the state (not the manifest) into a fresh run.
      await condition(() => starting === 0 && allHandlersFinished());
      state.running = [...running];
      state.runs += 1;
      await continueAsNew<typeof batchWorkflow>({ ...input, state });
    }
    changed = false;
    await condition(() => changed);
  }

  if (state.abortReason) {
    for (const id of schedule.skipPending()) {
      state.notRun.push({ id, reason: `not started: ${state.abortReason}` });
      state.counts.skipped = (state.counts.skipped ?? 0) + 1;
    }
  }

  const finishedAt = new Date().toISOString();
  const counts = state.counts as Counts;
  const summary: BatchSummary = {
    batchId,
    status: state.abortReason ? 'aborted' : 'completed',
    abortReason: state.abortReason,
    counts,
    costUsd: state.costUsd,
    tokens: state.tokens,
    startedAt: state.startedAt,
    finishedAt,
    reportPath: options.reportPath,
  };
  await CancellationScope.nonCancellable(() =>
    writeReport({
      reportPath: options.reportPath,
      summary: {
        batchId, status: summary.status, abortReason: summary.abortReason, counts, costUsd: state.costUsd, tokens: state.tokens,
        startedAt: state.startedAt, finishedAt,
      },
      manifest: input.manifest,
      notRun: state.notRun,
    }),
  );
  setCurrentDetails(describeProgress(progress()));
  return summary;
}

function historyIsLarge(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS || info.historySize > MAX_HISTORY_BYTES;
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

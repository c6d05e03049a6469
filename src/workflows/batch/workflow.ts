// The parent of one batch: register the handlers, load the plan, then a short loop — start what
// the ledger allows, wait for a change, continue as new when the history is large — then the
// suite and the report. The rules (counts, thresholds, budget, skips) live in the ledger.
//
// Children are started with ParentClosePolicy.ABANDON and report back by signal to the batch's
// workflow id, so the parent can continue as new while they run (Temporal's batch-sliding-window
// pattern). A child that ends without a word (terminated, failed on its own code) is caught by
// its `result()` in the run that started it, and by a periodic look at the others.
import {
  CancellationScope,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  ChildCheckActivities,
  ManifestActivities,
  ReportActivities,
  SuiteActivities,
} from '../../activities/types.js';
import type { BatchInput, BatchSummary, InstructionResult, PlanDetail, Progress, SuiteResult } from '../../schemas.js';
import { OUTCOMES } from '../../schemas.js';
import { BATCH_ID, WORKER_ID } from '../../temporal/search-attributes.js';
import type { instructionWorkflow } from '../instruction/workflow.js';
import { Ledger, outcomeOfLetter, planFromPages } from './ledger.js';
import {
  abortSignal,
  instructionDoneSignal,
  instructionWorkflowId,
  pauseSignal,
  progressQuery,
  resumeSignal,
  setConcurrencyUpdate,
} from './messages.js';

// Defaults of `options.limits`: continue as new well before Temporal's 51,200-event / 50 MB limits.
const LIMITS = { historyEvents: 8_000, historyBytes: 8 * 1024 * 1024, childCheckMs: 60_000, abortGraceMs: 120_000 };
const DETAILS_PAGE_SIZE = 500;

export async function batchWorkflow(input: BatchInput): Promise<BatchSummary> {
  const { batchId, options, manifest } = input;
  const limits = { ...LIMITS, ...options.limits };
  const workspace = proxyActivities<ManifestActivities & ReportActivities & ChildCheckActivities>({
    taskQueue: options.workspaceQueue,
    startToCloseTimeout: '2 minutes',
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 10 },
  });
  const { runSuite } = proxyActivities<SuiteActivities>({
    taskQueue: options.workspaceQueue,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '1 minute',
    retry: { maximumAttempts: 2 },
  });

  // The query and the update answer while the plan loads (an update with no handler at the end of
  // a workflow task is rejected); signals wait, buffered, for their handlers below.
  let ledger: Ledger | undefined;
  let concurrencyWhileLoading: number | undefined;
  setHandler(progressQuery, (): Progress => ledger?.progress(batchId) ?? loadingProgress(input));
  setHandler(
    setConcurrencyUpdate,
    (n) => {
      if (ledger) ledger.setConcurrency(n);
      else concurrencyWhileLoading = n;
      return n;
    },
    {
      validator: (n) => {
        // Temporal allows at most 2,000 pending children per workflow.
        if (!Number.isInteger(n) || n < 1 || n > 2000) throw new Error('concurrency must be an integer from 1 to 2000');
      },
    },
  );

  const first = await workspace.loadPlanPage({ manifest, page: 0 });
  const pages = [first];
  for (let loaded = first.deps.length; loaded < first.total;) {
    const page = await workspace.loadPlanPage({ manifest, page: pages.length });
    if (page.deps.length === 0) break; // cannot happen with a manifest that matches its hash; the ledger says so
    pages.push(page);
    loaded = page.start + page.deps.length;
  }
  const books = new Ledger(planFromPages(pages), options, new Date().toISOString(), input.state);
  ledger = books;
  if (concurrencyWhileLoading !== undefined) books.setConcurrency(concurrencyWhileLoading);
  // A run works a while before it continues as new: a plan that alone passed the limits would otherwise loop.
  const loadedAt = workflowInfo().historyLength;

  setHandler(instructionDoneSignal, (done) => books.ended(done));
  setHandler(pauseSignal, () => books.pause(true));
  setHandler(resumeSignal, () => books.pause(false));
  setHandler(abortSignal, (reason) => books.abort(reason ? `aborted by operator: ${reason}` : 'aborted by operator'));

  const details = new Details((start, count) => workspace.loadPlanDetails({ manifest, start, count }));
  /** Children this run started: their `result()` tells when they end, however they end. */
  const watched = new Set<number>();
  const cancelled = new Set<number>();
  // Children whose start is not confirmed yet: a run that closes first never starts them.
  let starting = 0;
  let abortedAt: number | null = null;

  const launch = (i: number) => {
    const id = books.idOf(i);
    const d = details.get(i);
    watched.add(i);
    starting += 1;
    startChild<typeof instructionWorkflow>('instructionWorkflow', {
      workflowId: instructionWorkflowId(batchId, id),
      args: [
        { batchId, workerId: id, manifest, dependencyFiles: d.dependencyFiles, options, budget: books.budgetFor(i) },
      ],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A worker of a batch runs once: a bug that launched it again must not pay for it again.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: BATCH_ID, value: batchId },
        { key: WORKER_ID, value: id },
      ],
      staticSummary: `${id}: ${d.name}`,
      staticDetails: `writes ${d.deliverables.join(', ')}`,
    }).then(
      (child) => {
        starting -= 1;
        return child.result().then(
          // Its signal normally came first; if not, the result says the same.
          (r: InstructionResult) => books.ended({ id, outcome: r.outcome, costUsd: r.costUsd, tokens: r.tokens }),
          (err) => {
            const none = { costUsd: 0, tokens: { prompt: 0, completion: 0 } };
            if (isCancellation(err) || books.abortReason)
              books.ended({ id, outcome: 'skipped', ...none }, `cancelled: ${books.abortReason ?? 'by request'}`);
            else books.ended({ id, outcome: 'error', ...none }, `worker workflow failed: ${(err as Error).message}`);
          },
        );
      },
      (err) => {
        starting -= 1;
        books.ended(
          { id, outcome: 'error', costUsd: 0, tokens: { prompt: 0, completion: 0 } },
          `could not start: ${(err as Error).message}`,
        );
      },
    );
  };

  for (;;) {
    // Starting children in the task that continues as new would lose them: stop launching first.
    const newRun =
      historyIsLarge(limits) && workflowInfo().historyLength - loadedAt >= Math.min(100, limits.historyEvents);
    if (books.abortReason) {
      abortedAt ??= Date.now();
      for (const i of books.runningIndices()) {
        if (cancelled.has(i)) continue;
        cancelled.add(i);
        getExternalWorkflowHandle(instructionWorkflowId(batchId, books.idOf(i)))
          .cancel()
          .catch(() => {
            // Already closed: its report is on the way, or a look at it will find it.
          });
      }
    } else if (!newRun) {
      const upcoming = books.upcoming();
      if (!details.has(upcoming)) {
        await details.load(upcoming);
        continue; // the world may have moved while the details loaded
      }
      books.next().forEach(launch);
    }
    setCurrentDetails(describeProgress(books.progress(batchId)));
    if (books.finished) break;
    if (newRun) {
      // Every launched child started, in-flight handlers finished; then carry the ledger (not the plan)
      // into a fresh run.
      await condition(() => starting === 0 && allHandlersFinished());
      await continueAsNew<typeof batchWorkflow>({ ...input, state: books.carry() });
    }
    // Wait for a change; children no `result()` of this run watches (and, after an abort, all) get a look now and then.
    const unwatched = books.runningIndices().filter((i) => books.abortReason || !watched.has(i));
    const seen = books.version;
    const moved = () => books.version !== seen;
    const changed = unwatched.length > 0 ? await condition(moved, limits.childCheckMs) : (await condition(moved), true);
    if (!changed && unwatched.length > 0) {
      const graceOver = abortedAt !== null && Date.now() - abortedAt >= limits.abortGraceMs;
      const closed = await workspace.checkChildren({
        batchId,
        ids: unwatched.map((i) => books.idOf(i)),
        terminate: graceOver
          ? `batch aborted (${books.abortReason}); did not stop within ${limits.abortGraceMs / 1000} s`
          : undefined,
      });
      for (const c of closed) books.ended(c, c.reason);
    }
  }

  let suite: SuiteResult | null = null;
  if (!books.abortReason && options.suite) {
    suite = await runSuite({
      workspace: options.workspace,
      pythonRoot: options.pythonRoot,
      command: options.suite.command,
      manifest,
      reportPath: options.reportPath,
    });
  }

  const finishedAt = new Date().toISOString();
  const summary: BatchSummary = {
    batchId,
    status: books.abortReason ? 'aborted' : 'completed',
    abortReason: books.abortReason,
    counts: books.countsNow(),
    costUsd: books.costUsd,
    tokens: { ...books.tokens },
    startedAt: books.startedAt,
    finishedAt,
    reportPath: options.reportPath,
  };
  const { reportPath: _, ...reported } = summary;
  await CancellationScope.nonCancellable(() =>
    workspace.writeReport({
      reportPath: options.reportPath,
      summary: reported,
      manifest,
      ...books.reportState(),
      suite,
    }),
  );
  setCurrentDetails(describeProgress(books.progress(batchId)));
  return summary;
}

/** Names and files of workers about to start, loaded a page at a time and kept for a few pages. */
class Details {
  private readonly pages = new Map<number, PlanDetail[]>();
  constructor(private readonly fetch: (start: number, count: number) => Promise<PlanDetail[]>) {}

  has(indices: number[]): boolean {
    return indices.every((i) => this.pages.has(Math.floor(i / DETAILS_PAGE_SIZE)));
  }

  async load(indices: number[]): Promise<void> {
    for (const page of new Set(indices.map((i) => Math.floor(i / DETAILS_PAGE_SIZE)))) {
      if (this.pages.has(page)) continue;
      this.pages.set(page, await this.fetch(page * DETAILS_PAGE_SIZE, DETAILS_PAGE_SIZE));
      // Children start roughly in plan order: the oldest pages are the ones done with.
      while (this.pages.size > 8) this.pages.delete(this.pages.keys().next().value!);
    }
  }

  get(i: number): PlanDetail {
    const d = this.pages.get(Math.floor(i / DETAILS_PAGE_SIZE))?.[i % DETAILS_PAGE_SIZE];
    if (!d) throw new Error(`no details loaded for plan index ${i}`);
    return d;
  }
}

function historyIsLarge(limits: { historyEvents: number; historyBytes: number }): boolean {
  const info = workflowInfo();
  return (
    info.continueAsNewSuggested || info.historyLength > limits.historyEvents || info.historySize > limits.historyBytes
  );
}

/** Progress while a run loads its plan: what the previous run carried (running ids come with the plan). */
function loadingProgress(input: BatchInput): Progress {
  const s = input.state;
  const counts = { passed: 0, failed: 0, guide: 0, llm_timeout: 0, error: 0, skipped: 0 };
  for (const letter of s?.outcomes ?? '') {
    const o = outcomeOfLetter(letter);
    if (o) counts[o] += 1;
  }
  return {
    batchId: input.batchId,
    state: s?.abortReason ? 'aborting' : s?.paused ? 'paused' : 'running',
    total: input.manifest.total,
    counts,
    running: [],
    concurrency: s?.concurrency ?? input.options.concurrency,
    costUsd: s?.costUsd ?? 0,
    tokens: { ...(s?.tokens ?? { prompt: 0, completion: 0 }) },
    startedAt: s?.startedAt ?? '',
    abortReason: s?.abortReason ?? null,
  };
}

function describeProgress(p: Progress): string {
  const done = OUTCOMES.map((o) => `${o} ${p.counts[o]}`).join(', ');
  return `${p.state}: ${done}; running ${p.running.length}/${p.concurrency}; $${p.costUsd.toFixed(4)}`;
}

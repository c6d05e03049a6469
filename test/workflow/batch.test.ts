// The batch and worker workflows' own logic on a real dev server, with the activities replaced
// by scripted ones: scheduling order, the sliding window, fallback, thresholds and budget.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manifestActivities, saveManifest } from '../../src/activities/manifest-store.js';
import { createReportActivities } from '../../src/activities/report.js';
import { childCheckActivities } from '../../src/activities/batch-children.js';
import { checkStep, localSteps } from '../../src/activities/instruction-steps.js';
import { ArtifactStore, sha256 } from '../../src/activities/artifacts.js';
import type {
  BatchInput,
  BatchOptions,
  BatchSummary,
  GenerateRequest,
  ManifestEntry,
  Provider,
  Report,
  InstructionResult,
  Blob,
} from '../../src/schemas.js';
import { abortSignal, pauseSignal, progressQuery, instructionWorkflowId } from '../../src/workflows/batch/messages.js';
import { DEFAULT_LLM_QUEUES, OUTCOMES } from '../../src/schemas.js';
import { workflowBundle } from '../support/bundle.js';
import { startTestServer } from '../support/temporal.js';
import { waitFor } from '../support/wait.js';
import { dataConverter } from '../../src/temporal/codec.js';

/** An activity's text passed inline, as the real activities pass small ones. */
function inlineBlob(text: string): Blob {
  return { sha256: sha256(text), bytes: Buffer.byteLength(text), inline: text, store: null };
}

interface Behaviour {
  guides?: number; // the first N answers are guides
  testFailures?: number; // the first N test runs fail
  reject?: Provider[]; // providers that answer 401
  timeout?: Provider[]; // providers that always time out
  costUsd?: number;
  delayMs?: number; // how long its LLM call takes
  endsWhen?: (log: Log) => boolean; // ...unless this holds sooner: the delay is then only a limit
  recordFails?: boolean; // its result cannot be recorded
  testError?: boolean; // its test run fails as infrastructure (the worker ends `error`)
}

/** The activities called, in order. */
type Log = Array<{ activity: string; workerId: string; detail?: unknown }>;

/** What a test may do while its batch runs. */
interface During {
  handle: WorkflowHandle;
  batchId: string;
  log: Log;
}

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;

beforeAll(async () => {
  // Side by side, each kept as soon as it is there, so that afterAll stops a server that started.
  const ready = await Promise.allSettled([
    startTestServer().then((e) => (env = e)),
    workflowBundle().then((b) => (bundle = b)),
  ]);
  for (const r of ready) if (r.status === 'rejected') throw r.reason;
});
afterAll(async () => {
  await env?.teardown();
});

function entry(id: string, opts: Partial<ManifestEntry> = {}): ManifestEntry {
  return {
    id,
    name: `Worker ${id}`,
    file: `/instructions/${id}.md`,
    sha256: 'a'.repeat(64),
    deliverables: [`wingman/${id.toLowerCase()}.py`],
    dependencies: [],
    provider: 'openai',
    testCommands: [['python', '-m', 'py_compile', `${id.toLowerCase()}.py`]],
    replay: null,
    generationEstimateUsd: 0.01, // what a scripted generation costs (behaviour.costUsd default)
    ...opts,
  };
}

let batchCounter = 0;

/** Runs one batch against scripted activities and returns its summary, report and the activity log. */
async function runBatch(
  manifest: ManifestEntry[],
  behaviour: Record<string, Behaviour>,
  overrides: Partial<BatchOptions> = {},
  during?: (d: During) => Promise<void>,
) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wingman-wf-'));
  const batchId = `wf${++batchCounter}-${Date.now()}`;
  const log: Log = [];
  const live = new Set<string>();
  let maxLive = 0;
  const generations = new Map<string, number>();
  const testRuns = new Map<string, number>();

  const generate = (provider: Provider) => async (req: GenerateRequest) => {
    const b = behaviour[req.workerId] ?? {};
    log.push({ activity: `generate-${provider}`, workerId: req.workerId, detail: req.promptRef });
    if (b.reject?.includes(provider))
      throw ApplicationFailure.create({ type: 'LlmRejected', message: '401 bad key', nonRetryable: true });
    if (b.timeout?.includes(provider))
      throw ApplicationFailure.create({ type: 'LlmTimeout', message: 'timed out', nonRetryable: true });
    live.add(req.workerId);
    maxLive = Math.max(maxLive, live.size);
    // Cancellable, so a worker shutting down does not wait for a scripted slow call.
    const until = Date.now() + (b.delayMs ?? 5);
    if (!b.endsWhen) await Context.current().sleep(b.delayMs ?? 5);
    else while (!b.endsWhen(log) && Date.now() < until) await Context.current().sleep(20);
    live.delete(req.workerId);
    const n = (generations.get(req.workerId) ?? 0) + 1;
    generations.set(req.workerId, n);
    return {
      provider,
      model: `${provider}-model`,
      outputRef: inlineBlob(`${req.workerId}#${n}`),
      tokens: { prompt: 10, completion: 20 },
      costUsd: b.costUsd ?? 0.01,
      durationMs: 5,
      cached: false,
      savedUsd: 0,
    };
  };
  const options: BatchOptions = {
    workspace: dir,
    pythonRoot: 'wingman',
    concurrency: 50,
    budgetUsd: 15,
    thresholds: { minSample: 10, guideRate: 0.1, failedRate: 0.2, llmTimeoutRate: 0.3, errorRate: 0.2 },
    llm: {
      timeoutMs: 5000,
      heartbeatMs: 5000,
      maxAttempts: 1,
      initialRetryMs: 10,
      maxRetryMs: 10,
      temperature: 0.1,
      maxTokens: 4000,
    },
    providers: ['openai', 'ollama'],
    reportPath: path.join(dir, 'report.json'),
    workspaceQueue: `ws-${batchId}`,
    cache: false,
    llmQueues: DEFAULT_LLM_QUEUES,
    ...overrides,
  };
  const reportActivities = createReportActivities(new ArtifactStore(path.join(dir, 'artifacts')));
  const single = {
    preparePrompt: async (req: { workerId: string; feedback: unknown }) => {
      log.push({ activity: 'preparePrompt', workerId: req.workerId, detail: req.feedback });
      return { promptRef: inlineBlob(`prompt-${req.workerId}`), chars: 100 };
    },
    inspectOutput: async (req: { outputRef: Blob; deliverables: string[] }) => {
      const [id, n] = (req.outputRef.inline ?? '').split('#') as [string, string];
      const guide = Number(n) <= (behaviour[id]?.guides ?? 0);
      return {
        guide,
        markers: guide ? ['Step 1:'] : [],
        files: guide ? [] : req.deliverables.map((p) => ({ path: p, ref: req.outputRef.sha256 })),
      };
    },
    writeDeliverables: async (req: { files: Array<{ path: string }> }) => ({
      written: req.files.map((f) => ({ path: f.path, sha256: 'b'.repeat(64), bytes: 1, previous: null })),
    }),
    runTests: async (req: { workerId: string }) => {
      const n = (testRuns.get(req.workerId) ?? 0) + 1;
      testRuns.set(req.workerId, n);
      const ok = n > (behaviour[req.workerId]?.testFailures ?? 0);
      log.push({ activity: 'runTests', workerId: req.workerId });
      if (behaviour[req.workerId]?.testError)
        throw ApplicationFailure.create({
          type: 'TestInfrastructure',
          message: 'No module named pytest',
          nonRetryable: true,
        });
      return {
        ok,
        passed: ok ? 1 : 0,
        failed: ok ? 0 : 1,
        summary: ok ? '1 passed' : 'AssertionError: 3 != 4',
        outputRef: inlineBlob(`log-${req.workerId}-${n}`),
        timedOut: false,
      };
    },
    checkCriteria: async () => ({ ok: true, results: [] }),
    storeRetrospective: async () => ({ stored: 'local' as const }),
    ...manifestActivities,
    ...reportActivities,
    ...childCheckActivities,
    recordResult: async (req: { reportPath: string; result: InstructionResult }) => {
      log.push({ activity: 'recordResult', workerId: req.result.id });
      if (behaviour[req.result.id]?.recordFails)
        throw ApplicationFailure.create({ type: 'DiskFull', message: 'ENOSPC', nonRetryable: true });
      return reportActivities.recordResult(req);
    },
  };
  // The instruction's steps, made of the stand-ins above the way the real worker makes them.
  const parts = single as unknown as Parameters<typeof checkStep>[0];
  const workspaceActivities = { ...single, ...checkStep(parts) };
  const connection = env.nativeConnection;
  const taskQueue = `wf-${batchId}`;
  const workers = await Promise.all([
    Worker.create({ connection, dataConverter, taskQueue, workflowBundle: bundle, activities: localSteps(parts) }),
    Worker.create({ connection, dataConverter, taskQueue: options.workspaceQueue, activities: workspaceActivities }),
    Worker.create({
      connection,
      dataConverter,
      taskQueue: 'llm-openai',
      activities: { generateOpenAI: generate('openai') },
    }),
    Worker.create({
      connection,
      dataConverter,
      taskQueue: 'llm-ollama',
      activities: { generateOllama: generate('ollama') },
    }),
  ]);
  const input: BatchInput = { batchId, manifest: await saveManifest(path.join(dir, 'manifests'), manifest), options };
  const handle = await env.client.workflow.start('batchWorkflow', {
    taskQueue,
    workflowId: `batch-${batchId}`,
    args: [input],
  });
  const run = Promise.all(workers.map((w) => w.run()));
  try {
    await during?.({ handle, batchId, log });
    const summary = (await handle.result()) as BatchSummary;
    const report = JSON.parse(readFileSync(options.reportPath, 'utf8')) as Report;
    const progress = await handle.query(progressQuery);
    return { summary, report, log, maxLive, progress, handle };
  } finally {
    workers.forEach((w) => w.shutdown());
    await run;
  }
}

const outcomeOf = (report: Report, id: string) => report.workers.find((w) => w.id === id)?.outcome;

/** Every instruction listed once, and `counts[o]` the number listed with outcome o. */
function expectExactAccounting(summary: BatchSummary, report: Report, manifest: ManifestEntry[]) {
  expect(report.workers.map((w) => w.id).sort()).toEqual(manifest.map((e) => e.id).sort());
  const listed = Object.fromEntries(OUTCOMES.map((o) => [o, report.workers.filter((w) => w.outcome === o).length]));
  expect(summary.counts).toEqual(listed);
  expect(report.counts).toEqual(listed);
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `WORKER_${String(i + 1).padStart(3, '0')}`);

/** Pairs: every odd worker fails its tests, the even one after it depends on it. */
function failingPairs(n: number) {
  const manifest = ids(n).map((id, i) => entry(id, i % 2 === 1 ? { dependencies: [ids(n)[i - 1]!] } : {}));
  const behaviour: Record<string, Behaviour> = Object.fromEntries(
    manifest.filter((_, i) => i % 2 === 0).map((e) => [e.id, { testFailures: 9 }]),
  );
  return { manifest, behaviour };
}

/** An LLM call that may hang for minutes without timing out: the scripted `delayMs` holds a child running. */
const HANGING_CALL_POLICY = {
  timeoutMs: 300_000,
  heartbeatMs: 300_000,
  maxAttempts: 1,
  initialRetryMs: 10,
  maxRetryMs: 10,
  temperature: 0.1,
  maxTokens: 4000,
};

/**
 * Terminates a child started by the batch's first run once a later run lists it as running: the
 * child that no run of the batch watches, the one that hung the batch before.
 */
async function terminateAfterContinueAsNew(
  handle: WorkflowHandle,
  batchId: string,
  id: string,
  reason: string,
): Promise<void> {
  await waitFor(async () => ((await runsOf(batchId)).length > 1 ? true : undefined), {
    timeoutMs: 120_000,
    what: 'a continue-as-new',
  });
  // (A run answers progress with an empty list while it loads the plan.)
  await waitFor(async () => ((await handle.query(progressQuery)).running.includes(id) ? true : undefined), {
    timeoutMs: 60_000,
    what: `the new run to list ${id} as running`,
  });
  await env.client.workflow.getHandle(instructionWorkflowId(batchId, id)).terminate(reason);
}

/** Whether the batch's latest run was started by a continue-as-new, read from its own first event. */
async function continuedFromEarlierRun(batchId: string): Promise<boolean> {
  const history = await env.client.workflow.getHandle(`batch-${batchId}`).fetchHistory();
  return !!history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
}

/** The run ids of a batch's workflow, oldest first. */
async function runsOf(batchId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const e of env.client.workflow.list({ query: `WorkflowId = "batch-${batchId}"` })) runs.push(e.runId);
  return runs;
}

describe('batch workflow', () => {
  test('dependencies start after they pass, same-file writers run in id order', async () => {
    // And the dependents of a failure are skipped.
    const manifest = [
      entry('WORKER_001'),
      entry('WORKER_002', { deliverables: ['wingman/worker_001.py'], dependencies: ['WORKER_001'] }),
      entry('WORKER_003', { dependencies: ['WORKER_002'] }),
      entry('WORKER_004', { deliverables: ['wingman/worker_001.py'] }),
      entry('WORKER_005', { dependencies: ['WORKER_006'] }),
      entry('WORKER_006'),
      entry('WORKER_007', { dependencies: ['WORKER_005'] }),
    ];
    const { summary, report, log } = await runBatch(manifest, { WORKER_006: { testFailures: 9 } });
    const steps = log.map((l) => `${l.activity}:${l.workerId}`);
    const started = log.filter((l) => l.activity === 'preparePrompt').map((l) => l.workerId);
    const firstStart = (id: string) => steps.indexOf(`preparePrompt:${id}`);
    const lastTest = (id: string) => steps.lastIndexOf(`runTests:${id}`);
    expect(firstStart('WORKER_002')).toBeGreaterThan(lastTest('WORKER_001'));
    expect(firstStart('WORKER_003')).toBeGreaterThan(lastTest('WORKER_002'));
    // WORKER_004 writes the same file as 001 and 002: it waits for both.
    expect(firstStart('WORKER_004')).toBeGreaterThan(lastTest('WORKER_002'));
    expect(outcomeOf(report, 'WORKER_006')).toBe('failed');
    expect(outcomeOf(report, 'WORKER_005')).toBe('skipped');
    expect(outcomeOf(report, 'WORKER_007')).toBe('skipped');
    expect(started).not.toContain('WORKER_005');
    expect(summary.counts).toEqual({ passed: 4, failed: 1, guide: 0, llm_timeout: 0, error: 0, skipped: 2 });
    expect(summary.status).toBe('completed');
  });

  test('a sliding window: never more than `concurrency` at once, and no barrier behind a slow worker', async () => {
    const manifest = Array.from({ length: 8 }, (_, i) => entry(`WORKER_${String(i + 1).padStart(3, '0')}`));
    // WORKER_001 generates until the other seven have run their tests (20 s at most): behind a barrier they could not.
    const othersTested = (log: Log) =>
      new Set(log.filter((l) => l.activity === 'runTests' && l.workerId !== 'WORKER_001').map((l) => l.workerId))
        .size === 7;
    const behaviour: Record<string, Behaviour> = { WORKER_001: { delayMs: 20_000, endsWhen: othersTested } };
    const { summary, log, maxLive } = await runBatch(manifest, behaviour, {
      concurrency: 3,
      // The scripted slow call does not heartbeat.
      llm: {
        timeoutMs: 30_000,
        heartbeatMs: 30_000,
        maxAttempts: 1,
        initialRetryMs: 10,
        maxRetryMs: 10,
        temperature: 0.1,
        maxTokens: 4000,
      },
    });
    expect(summary.counts.passed).toBe(8);
    expect(maxLive).toBeLessThanOrEqual(3);
    expect(maxLive).toBeGreaterThan(1);
    // While WORKER_001 is still generating, the other two slots work through the rest.
    const order = log.filter((l) => l.activity === 'runTests').map((l) => l.workerId);
    expect(order.indexOf('WORKER_001')).toBe(order.length - 1);
  });

  test('a rejected provider falls back to the next; every provider timing out ends llm_timeout', async () => {
    const manifest = [entry('WORKER_001'), entry('WORKER_002', { provider: 'ollama' }), entry('WORKER_003')];
    const { report, log } = await runBatch(manifest, {
      WORKER_001: { reject: ['openai'] },
      WORKER_002: { reject: ['ollama'] },
      WORKER_003: { timeout: ['openai', 'ollama'] },
    });
    expect(report.workers.find((w) => w.id === 'WORKER_001')).toMatchObject({
      outcome: 'passed',
      provider: 'ollama',
      attempts: 2,
    });
    expect(report.workers.find((w) => w.id === 'WORKER_002')).toMatchObject({ outcome: 'passed', provider: 'openai' });
    expect(outcomeOf(report, 'WORKER_003')).toBe('llm_timeout');
    expect(log.filter((l) => l.workerId === 'WORKER_002').map((l) => l.activity)).toContain('generate-ollama');
  });

  test('a guide is regenerated once with its markers, failing tests once with their output', async () => {
    const manifest = [entry('WORKER_001'), entry('WORKER_002'), entry('WORKER_003'), entry('WORKER_004')];
    const { report, log } = await runBatch(manifest, {
      WORKER_001: { guides: 1 },
      WORKER_002: { guides: 5 },
      WORKER_003: { testFailures: 1 },
      WORKER_004: { testFailures: 5 },
    });
    expect(outcomeOf(report, 'WORKER_001')).toBe('passed');
    expect(outcomeOf(report, 'WORKER_002')).toBe('guide');
    expect(outcomeOf(report, 'WORKER_003')).toBe('passed');
    expect(outcomeOf(report, 'WORKER_004')).toBe('failed');
    const feedback = (id: string) =>
      log.filter((l) => l.activity === 'preparePrompt' && l.workerId === id).map((l) => l.detail);
    expect(feedback('WORKER_001')).toEqual([null, { kind: 'guide', markers: ['Step 1:'] }]);
    expect(feedback('WORKER_003')).toEqual([
      null,
      expect.objectContaining({ kind: 'tests', outputRef: inlineBlob('log-WORKER_003-1') }),
    ]);
    expect(feedback('WORKER_002')).toHaveLength(2);
    expect(report.workers.find((w) => w.id === 'WORKER_004')?.tests).toEqual({ passed: 0, failed: 1 });
  });

  test('a worker whose result cannot be recorded still frees its slot, and is not recorded twice', async () => {
    const manifest = [entry('WORKER_001'), entry('WORKER_002'), entry('WORKER_003')];
    const { summary, report, log } = await runBatch(
      manifest,
      { WORKER_001: { recordFails: true } },
      { concurrency: 1 },
    );
    // The batch went on to the next workers and counted the end the worker signalled.
    expect(summary.status).toBe('completed');
    expect(summary.counts).toMatchObject({ passed: 3, error: 0 });
    expect(log.filter((l) => l.activity === 'recordResult' && l.workerId === 'WORKER_001')).toHaveLength(1);
    expect(outcomeOf(report, 'WORKER_002')).toBe('passed');
    const child = await env.client.workflow.getHandle(instructionWorkflowId(summary.batchId, 'WORKER_001')).describe();
    expect(child.status.name).toBe('FAILED');
  });

  test('too many guides after the minimum sample aborts the batch and skips the rest', async () => {
    const manifest = Array.from({ length: 30 }, (_, i) => entry(`WORKER_${String(i + 1).padStart(3, '0')}`));
    const behaviour = Object.fromEntries(['WORKER_001', 'WORKER_002', 'WORKER_003'].map((id) => [id, { guides: 9 }]));
    const { summary, report } = await runBatch(manifest, behaviour, {
      concurrency: 2,
      thresholds: { minSample: 5, guideRate: 0.1, failedRate: 0.2, llmTimeoutRate: 0.3, errorRate: 0.2 },
    });
    expect(summary.status).toBe('aborted');
    expect(summary.abortReason).toMatch(/too many guides/);
    expect(summary.counts.skipped).toBeGreaterThan(0);
    expect(report.workers).toHaveLength(30);
    const total = Object.values(summary.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(30);
  });

  test('spending past the budget aborts the batch', async () => {
    const manifest = Array.from({ length: 12 }, (_, i) => entry(`WORKER_${String(i + 1).padStart(3, '0')}`));
    const behaviour = Object.fromEntries(manifest.map((e) => [e.id, { costUsd: 0.4 }]));
    const { summary } = await runBatch(manifest, behaviour, { concurrency: 1, budgetUsd: 1 });
    expect(summary.status).toBe('aborted');
    expect(summary.abortReason).toMatch(/budget exceeded/);
    expect(summary.counts.passed).toBe(3);
    expect(summary.counts.skipped).toBe(9);
  });

  test('30 failing/dependent pairs: the failure that trips the abort still counts its skipped dependent', async () => {
    // Every worker is counted once.
    const { manifest, behaviour } = failingPairs(30);
    const { summary, report } = await runBatch(manifest, behaviour, {
      concurrency: 4,
      thresholds: { minSample: 5, guideRate: 0.1, failedRate: 0.2, llmTimeoutRate: 0.3, errorRate: 0.2 },
    });
    expect(summary.status).toBe('aborted');
    expect(summary.abortReason).toMatch(/too many test failures/);
    expectExactAccounting(summary, report, manifest);
    // Each dependent of a failure counted before the abort (the one that tripped it included) is
    // skipped for that reason, not lost; a failure that ended after the abort found its dependent already skipped.
    const failed = report.workers.filter((x) => x.outcome === 'failed');
    const reasons = failed.map((w) =>
      report.workers.find((x) => x.id === manifest.find((e) => e.dependencies.includes(w.id))!.id)!,
    );
    for (const r of reasons)
      expect(r).toMatchObject({
        outcome: 'skipped',
        error: expect.stringMatching(/^(dependency WORKER_\d+ ended failed|not started: too many test failures)/),
      });
    expect(reasons.filter((r) => r.error?.startsWith('dependency')).length).toBeGreaterThanOrEqual(5);
  });

  test('paused, then aborted: the dependents skipped while paused are counted, and every worker once', async () => {
    const { manifest, behaviour } = failingPairs(12);
    // The failing ones generate until the batch is paused (3 s at most, within the 5 s call timeout).
    let paused = false;
    for (const b of Object.values(behaviour)) Object.assign(b, { delayMs: 3000, endsWhen: () => paused });
    const { summary, report } = await runBatch(manifest, behaviour, { concurrency: 2 }, async ({ handle }) => {
      await waitFor(async () => ((await handle.query(progressQuery)).running.length === 2 ? true : undefined), {
        timeoutMs: 60_000,
        what: 'two running',
      });
      await handle.signal(pauseSignal);
      paused = true;
      // The two running ones fail while the batch is paused: their dependents are skipped then.
      const drained = await waitFor(
        async () => {
          const p = await handle.query(progressQuery);
          return p.state === 'paused' && p.running.length === 0 ? p : undefined;
        },
        { timeoutMs: 60_000, what: 'the paused batch to drain' },
      );
      expect(drained.counts.failed).toBe(2);
      expect(drained.counts.skipped).toBe(2);
      await handle.signal(abortSignal, 'enough');
    });
    expect(summary.status).toBe('aborted');
    expect(summary.abortReason).toBe('aborted by operator: enough');
    expect(summary.counts).toMatchObject({ failed: 2, skipped: 10 });
    expectExactAccounting(summary, report, manifest);
  });

  test('across continue-as-new: the ledger carried between runs accounts for every worker once', async () => {
    const { manifest, behaviour } = failingPairs(40);
    const { summary, report } = await runBatch(manifest, behaviour, {
      concurrency: 3,
      // Well below the ~130 events the 20 children take, however their signals batch into tasks.
      limits: { historyEvents: 60 },
      thresholds: { minSample: 10, guideRate: 0.1, failedRate: 1, llmTimeoutRate: 0.3, errorRate: 0.2 },
    });
    expect(summary.status).toBe('completed');
    // The last run's start says it continued another (visibility may list the earlier runs late).
    expect(await continuedFromEarlierRun(summary.batchId)).toBe(true);
    expect(summary.counts).toEqual({ passed: 0, failed: 20, guide: 0, llm_timeout: 0, error: 0, skipped: 20 });
    expectExactAccounting(summary, report, manifest);
  });

  test('a child terminated after the batch continued as new is noticed: the batch ends', async () => {
    // The child is counted once, as error.
    // Hung forever before: only the run that started a child watched its result.
    const manifest = ids(30).map((id) => entry(id));
    const behaviour: Record<string, Behaviour> = { WORKER_001: { delayMs: 120_000 } };
    const { summary, report } = await runBatch(
      manifest,
      behaviour,
      {
        concurrency: 3,
        limits: { historyEvents: 100, childCheckMs: 1000 },
        llm: HANGING_CALL_POLICY,
      },
      ({ handle, batchId }) => terminateAfterContinueAsNew(handle, batchId, 'WORKER_001', 'killed in the Web UI'),
    );
    expect(summary.status).toBe('completed');
    expect(summary.counts).toEqual({ passed: 29, failed: 0, guide: 0, llm_timeout: 0, error: 1, skipped: 0 });
    expect(report.workers.find((w) => w.id === 'WORKER_001')).toMatchObject({
      outcome: 'error',
      error: expect.stringMatching(/terminated/),
    });
    expectExactAccounting(summary, report, manifest);
  });

  test('an operator abort ends the batch even when a dead child started by an earlier run holds a slot', async () => {
    const manifest = ids(60).map((id) => entry(id));
    const behaviour: Record<string, Behaviour> = { WORKER_001: { delayMs: 120_000 } };
    const { summary, report } = await runBatch(
      manifest,
      behaviour,
      {
        concurrency: 2,
        limits: { historyEvents: 100, childCheckMs: 1000 },
        llm: HANGING_CALL_POLICY,
      },
      async ({ handle, batchId }) => {
        await terminateAfterContinueAsNew(handle, batchId, 'WORKER_001', 'deploy gone wrong');
        await handle.signal(abortSignal, 'stop');
      },
    );
    expect(summary.status).toBe('aborted');
    expect(summary.abortReason).toBe('aborted by operator: stop');
    expect(report.workers.find((w) => w.id === 'WORKER_001')).toMatchObject({ outcome: 'error' });
    expect(summary.counts.skipped).toBeGreaterThan(0);
    expectExactAccounting(summary, report, manifest);
  });

  test('every worker ending `error` (no pytest, say) aborts after the minimum sample', async () => {
    const manifest = ids(20).map((id) => entry(id));
    const behaviour = Object.fromEntries(manifest.map((e) => [e.id, { testError: true }]));
    const { summary, report, log } = await runBatch(manifest, behaviour, {
      concurrency: 2,
      thresholds: { minSample: 5, guideRate: 0.1, failedRate: 0.2, llmTimeoutRate: 0.3, errorRate: 0.2 },
    });
    expect(summary.status).toBe('aborted');
    expect(summary.abortReason).toMatch(/^too many errors: 5 of 5 finished workers/);
    expect(summary.counts.error).toBeLessThanOrEqual(6);
    expect(
      new Set(log.filter((l) => l.activity.startsWith('generate')).map((l) => l.workerId)).size,
    ).toBeLessThanOrEqual(6);
    expectExactAccounting(summary, report, manifest);
  });

  test('checkChildren: finds children that closed without a word', async () => {
    // And after an abort it terminates the ones that will not stop.
    const batchId = `check-${Date.now()}`;
    const start = (id: string) =>
      env.client.workflow.start('instructionWorkflow', {
        taskQueue: `nobody-polls-${batchId}`, // never runs: a child whose workflow worker is gone
        workflowId: instructionWorkflowId(batchId, id),
        args: [{}],
      });
    await start('WORKER_001');
    await (await start('WORKER_002')).terminate('killed in the Web UI');
    const check = (terminate?: string) =>
      new MockActivityEnvironment({}, { client: env.client }).run(childCheckActivities.checkChildren, {
        batchId,
        ids: ['WORKER_001', 'WORKER_002', 'WORKER_003'],
        terminate,
      });
    const none = { costUsd: 0, tokens: { prompt: 0, completion: 0 } };
    expect(await check()).toEqual([
      { id: 'WORKER_002', outcome: 'error', ...none, reason: 'worker workflow terminated without reporting back' },
      { id: 'WORKER_003', outcome: 'error', ...none, reason: 'worker workflow not found' },
    ]);
    expect(await check('batch aborted')).toContainEqual({
      id: 'WORKER_001',
      outcome: 'skipped',
      ...none,
      reason: 'terminated: batch aborted',
    });
    const described = await env.client.workflow.getHandle(instructionWorkflowId(batchId, 'WORKER_001')).describe();
    expect(described.status.name).toBe('TERMINATED');
  });
});

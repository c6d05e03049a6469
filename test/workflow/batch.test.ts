// The batch and worker workflows' own logic on a real dev server, with the activities replaced
// by scripted ones: scheduling order, the sliding window, fallback, thresholds and budget.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manifestActivities, saveManifest } from '../../src/activities/manifest-store.js';
import { createReportActivities } from '../../src/activities/report.js';
import { workerSteps } from '../../src/activities/instruction-steps.js';
import { ArtifactStore } from '../../src/activities/artifacts.js';
import { bundleWorkflows } from '../../src/temporal/bundle.js';
import type { BatchInput, BatchOptions, BatchSummary, GenerateRequest, ManifestEntry, Provider, Report, InstructionResult } from '../../src/schemas.js';
import { progressQuery, instructionWorkflowId } from '../../src/workflows/batch/messages.js';
import { startTestServer } from '../support/temporal.js';

interface Behaviour {
  guides?: number; // the first N answers are guides
  testFailures?: number; // the first N test runs fail
  reject?: Provider[]; // providers that answer 401
  timeout?: Provider[]; // providers that always time out
  costUsd?: number;
  delayMs?: number;
  recordFails?: boolean; // its result cannot be recorded
}

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  env = await startTestServer();
  bundle = await bundleWorkflows();
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
    ...opts,
  };
}

let batchCounter = 0;

/** Runs one batch against scripted activities and returns its summary, report and the activity log. */
async function runBatch(manifest: ManifestEntry[], behaviour: Record<string, Behaviour>, overrides: Partial<BatchOptions> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wingman-wf-'));
  const batchId = `wf${++batchCounter}-${Date.now()}`;
  const log: Array<{ activity: string; workerId: string; detail?: unknown }> = [];
  const live = new Set<string>();
  let maxLive = 0;
  const generations = new Map<string, number>();
  const testRuns = new Map<string, number>();

  const generate = (provider: Provider) => async (req: GenerateRequest) => {
    const b = behaviour[req.workerId] ?? {};
    log.push({ activity: `generate-${provider}`, workerId: req.workerId, detail: req.promptRef });
    if (b.reject?.includes(provider)) throw ApplicationFailure.create({ type: 'LlmRejected', message: '401 bad key', nonRetryable: true });
    if (b.timeout?.includes(provider)) throw ApplicationFailure.create({ type: 'LlmTimeout', message: 'timed out', nonRetryable: true });
    live.add(req.workerId);
    maxLive = Math.max(maxLive, live.size);
    await new Promise((r) => setTimeout(r, b.delayMs ?? 5));
    live.delete(req.workerId);
    const n = (generations.get(req.workerId) ?? 0) + 1;
    generations.set(req.workerId, n);
    return { provider, model: `${provider}-model`, outputRef: `${req.workerId}#${n}`, tokens: { prompt: 10, completion: 20 }, costUsd: b.costUsd ?? 0.01, durationMs: 5, cached: false, savedUsd: 0 };
  };
  const options: BatchOptions = {
    workspace: dir,
    pythonRoot: 'wingman',
    concurrency: 50,
    budgetUsd: 15,
    thresholds: { minSample: 10, guideRate: 0.1, failedRate: 0.2, llmTimeoutRate: 0.3 },
    llm: { timeoutMs: 5000, heartbeatMs: 5000, maxAttempts: 1, initialRetryMs: 10, maxRetryMs: 10 },
    providers: ['openai', 'ollama'],
    reportPath: path.join(dir, 'report.json'),
    workspaceQueue: `ws-${batchId}`,
    llmQueues: { openai: 'llm-openai', ollama: 'llm-ollama', processor: 'llm-processor' },
    cache: false,
    ...overrides,
  };
  const reportActivities = createReportActivities(new ArtifactStore(path.join(dir, 'artifacts')));
  const single = {
    preparePrompt: async (req: { workerId: string; feedback: unknown }) => {
      log.push({ activity: 'preparePrompt', workerId: req.workerId, detail: req.feedback });
      return { promptRef: `prompt-${req.workerId}`, chars: 100 };
    },
    inspectOutput: async (req: { outputRef: string; deliverables: string[] }) => {
      const [id, n] = req.outputRef.split('#') as [string, string];
      const guide = Number(n) <= (behaviour[id]?.guides ?? 0);
      return { guide, markers: guide ? ['Step 1:'] : [], files: guide ? [] : req.deliverables.map((p) => ({ path: p, ref: req.outputRef })) };
    },
    writeDeliverables: async (req: { files: Array<{ path: string }> }) => ({
      written: req.files.map((f) => ({ path: f.path, sha256: 'b'.repeat(64), bytes: 1, previous: null })),
    }),
    runTests: async (req: { workerId: string }) => {
      const n = (testRuns.get(req.workerId) ?? 0) + 1;
      testRuns.set(req.workerId, n);
      const ok = n > (behaviour[req.workerId]?.testFailures ?? 0);
      log.push({ activity: 'runTests', workerId: req.workerId });
      return { ok, passed: ok ? 1 : 0, failed: ok ? 0 : 1, summary: ok ? '1 passed' : 'AssertionError: 3 != 4', outputRef: `log-${req.workerId}-${n}`, timedOut: false };
    },
    checkCriteria: async () => ({ ok: true, results: [] }),
    storeRetrospective: async () => ({ stored: 'local' as const }),
    ...manifestActivities,
    ...reportActivities,
    recordResult: async (req: { reportPath: string; result: InstructionResult }) => {
      log.push({ activity: 'recordResult', workerId: req.result.id });
      if (behaviour[req.result.id]?.recordFails) throw ApplicationFailure.create({ type: 'DiskFull', message: 'ENOSPC', nonRetryable: true });
      return reportActivities.recordResult(req);
    },
  };
  // The four steps the worker calls, made of the stand-ins above the way the real worker makes them.
  const workspaceActivities = { ...single, ...workerSteps(single as unknown as Parameters<typeof workerSteps>[0]) };
  const connection = env.nativeConnection;
  const taskQueue = `wf-${batchId}`;
  const workers = await Promise.all([
    Worker.create({ connection, taskQueue, workflowBundle: bundle }),
    Worker.create({ connection, taskQueue: options.workspaceQueue, activities: workspaceActivities }),
    Worker.create({ connection, taskQueue: 'llm-openai', activities: { generateOpenAI: generate('openai') } }),
    Worker.create({ connection, taskQueue: 'llm-ollama', activities: { generateOllama: generate('ollama') } }),
  ]);
  const input: BatchInput = { batchId, manifest: await saveManifest(path.join(dir, 'manifests'), manifest), options };
  const handle = await env.client.workflow.start('batchWorkflow', { taskQueue, workflowId: `batch-${batchId}`, args: [input] });
  const run = Promise.all(workers.map((w) => w.run()));
  try {
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

describe('batch workflow', () => {
  test('dependencies start after they pass, same-file writers run in id order, dependents of a failure are skipped', async () => {
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
    const behaviour: Record<string, Behaviour> = { WORKER_001: { delayMs: 8000 } };
    const { summary, log, maxLive } = await runBatch(manifest, behaviour, {
      concurrency: 3,
      // The scripted slow call does not heartbeat.
      llm: { timeoutMs: 30_000, heartbeatMs: 30_000, maxAttempts: 1, initialRetryMs: 10, maxRetryMs: 10 },
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
    expect(report.workers.find((w) => w.id === 'WORKER_001')).toMatchObject({ outcome: 'passed', provider: 'ollama', attempts: 2 });
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
    const feedback = (id: string) => log.filter((l) => l.activity === 'preparePrompt' && l.workerId === id).map((l) => l.detail);
    expect(feedback('WORKER_001')).toEqual([null, { kind: 'guide', markers: ['Step 1:'] }]);
    expect(feedback('WORKER_003')).toEqual([null, expect.objectContaining({ kind: 'tests', outputRef: 'log-WORKER_003-1' })]);
    expect(feedback('WORKER_002')).toHaveLength(2);
    expect(report.workers.find((w) => w.id === 'WORKER_004')?.tests).toEqual({ passed: 0, failed: 1 });
  });

  test('a worker whose result cannot be recorded still frees its slot, and is not recorded twice', async () => {
    const manifest = [entry('WORKER_001'), entry('WORKER_002'), entry('WORKER_003')];
    const { summary, report, log } = await runBatch(manifest, { WORKER_001: { recordFails: true } }, { concurrency: 1 });
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
    const { summary, report } = await runBatch(manifest, behaviour, { concurrency: 2, thresholds: { minSample: 5, guideRate: 0.1, failedRate: 0.2, llmTimeoutRate: 0.3 } });
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
});

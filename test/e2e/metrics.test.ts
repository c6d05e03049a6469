// Operators' metrics: a worker process started with WINGMAN_METRICS_PORT serves, on one Prometheus
// endpoint, the Temporal SDK's own metrics and Wingman's (src/temporal/metrics.ts). A real dev server, the
// real worker CLI in its own process, a batch started with --no-worker, the LLM stand-in, real pytest.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { MetricMeter, MetricTags } from '@temporalio/common';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ResultPromise } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { METRICS, recordLlmCall, recordWorkerOutcome, startTestTimer, toMicroUsd } from '../../src/temporal/metrics.js';
import type { Report } from '../../src/schemas.js';
import { cliEnv, runCli, startCli } from '../support/cli.js';
import { writeInstructions } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { startTestServer } from '../support/temporal.js';
import { freePort } from '../support/ports.js';

let server: TestWorkflowEnvironment;
let llm: LlmStandIn;
let worker: ResultPromise | undefined;
let workerOutput = '';
let workerExited = false;

beforeAll(async () => {
  server = await startTestServer();
  llm = await startLlmStandIn();
});
afterAll(async () => {
  if (worker && !workerExited) {
    worker.kill('SIGTERM'); // the SDK's shutdown signals: the worker drains and exits
    const killer = setTimeout(() => worker?.kill('SIGKILL'), 15_000);
    await worker;
    clearTimeout(killer);
  }
  await llm?.close();
  await server?.teardown();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format: `name{a="x",b="y"} value` lines (comments skipped). */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const matching = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const total = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  matching(samples, name, labels).reduce((n, s) => n + s.value, 0);

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** Waits for the worker's endpoint to answer; fails with the worker's output if it exits or never does. */
async function waitForEndpoint(port: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (workerExited) throw new Error(`the worker exited before serving metrics:\n${workerOutput}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/metrics`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until)
      throw new Error(
        `the worker serves no metrics on port ${port} (does src/worker.ts call installRuntime?):\n${workerOutput}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('the worker serves the SDK metrics and workers by outcome, tokens, cost, LLM latency, test duration', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-metrics-'));
  const workspace = path.join(root, 'workspace');
  const workers = path.join(root, 'workers');
  mkdirSync(path.join(workspace, 'wingman/tests'), { recursive: true });
  writeInstructions(workers, [
    { id: 'WORKER_050', files: ['wingman/gauges/ok.py'] },
    { id: 'WORKER_051', files: ['wingman/gauges/wrong.py'], test: 'pytest tests/test_wrong.py -v' },
  ]);
  writeFileSync(
    path.join(workspace, 'wingman/tests/test_wrong.py'),
    'from gauges.wrong import value\n\n\ndef test_value():\n    assert value() == 2\n',
  );
  llm.script('WORKER_050', [{ code: 'def ok() -> bool:\n    return True\n' }]);
  llm.script('WORKER_051', [{ code: 'def value() -> int:\n    return 1\n' }]); // every answer is wrong: failed

  const port = await freePort();
  const env = cliEnv({
    TEMPORAL_ADDRESS: server.address,
    OPENAI_API_KEY: 'sk-test-metrics-not-a-real-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    OPENAI_MODEL: 'gpt-4o-mini',
    WINGMAN_STATE_DIR: path.join(root, 'state'), // shared by starter and worker: prompts go by reference
  });
  worker = startCli('worker', [], { cwd: root, env: { ...env, WINGMAN_METRICS_PORT: String(port) } });
  worker.all?.on('data', (chunk: Buffer) => (workerOutput += chunk.toString()));
  void worker.then(() => (workerExited = true));
  await waitForEndpoint(port);

  const reportPath = path.join(root, 'report.json');
  const batchId = `metrics-${Date.now()}`;
  const r = await runCli(
    'starter',
    [
      '--workers',
      workers,
      '--workspace',
      workspace,
      '--python-root',
      'wingman',
      '--batch-id',
      batchId,
      '--report',
      reportPath,
      '--no-worker',
    ],
    { cwd: root, env },
  );
  expect({ exitCode: r.exitCode, out: r.stdout + r.stderr, worker: workerOutput }).toMatchObject({ exitCode: 1 });
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
  expect(report.counts).toEqual({ passed: 1, failed: 1, guide: 0, llm_timeout: 0, error: 0, skipped: 0 });

  const samples = parseMetrics(await scrape(port));

  // The SDK's own metrics, with its temporal_ prefix.
  expect(total(samples, 'temporal_workflow_completed')).toBeGreaterThanOrEqual(3); // the batch and its two workers
  expect(matching(samples, 'temporal_activity_execution_latency_count').length).toBeGreaterThan(0);

  // Workers by outcome, with the activity's own tags.
  expect(total(samples, METRICS.workers, { outcome: 'passed' })).toBe(1);
  expect(total(samples, METRICS.workers, { outcome: 'failed' })).toBe(1);
  expect(
    total(samples, METRICS.workers, { outcome: 'passed', provider: 'openai', activityType: 'finishInstruction' }),
  ).toBe(1);
  expect(
    matching(samples, METRICS.workers).every((s) => s.labels.outcome === 'passed' || s.labels.outcome === 'failed'),
  ).toBe(true);

  // Tokens and cost per provider: what the stand-in answered, what the report says.
  const answered = llm.calls.filter((c) => c.provider === 'openai' && c.status === 200);
  expect(answered.length).toBeGreaterThanOrEqual(3); // WORKER_051 is regenerated once with its test output
  const promptTokens = answered.reduce((n, c) => n + c.promptTokens, 0);
  const completionTokens = answered.reduce((n, c) => n + c.completionTokens, 0);
  expect(total(samples, METRICS.llmTokens, { provider: 'openai', type: 'prompt' })).toBe(promptTokens);
  expect(total(samples, METRICS.llmTokens, { provider: 'openai', type: 'completion' })).toBe(completionTokens);
  expect(report.tokens).toEqual({ prompt: promptTokens, completion: completionTokens });
  expect(
    matching(samples, METRICS.llmTokens, { provider: 'openai' }).every((s) => s.labels.model === 'gpt-4o-mini'),
  ).toBe(true);
  const microUsd = total(samples, METRICS.llmCost, { provider: 'openai', model: 'gpt-4o-mini' });
  expect(microUsd).toBeGreaterThan(0);
  // Whole micro-dollars, each call rounded: within half a micro-dollar per call of the report's cost.
  expect(Math.abs(microUsd - report.costUsd * 1_000_000)).toBeLessThanOrEqual(answered.length * 0.5 + 1e-6);

  // LLM latency: a histogram with buckets, per provider.
  const latencyBuckets = matching(samples, `${METRICS.llmLatency}_bucket`, { provider: 'openai' });
  expect(latencyBuckets.length).toBeGreaterThan(1);
  expect(latencyBuckets.map((s) => s.labels.le)).toEqual(expect.arrayContaining(['1000', '60000', '+Inf']));
  expect(total(samples, `${METRICS.llmLatency}_bucket`, { provider: 'openai', le: '+Inf' })).toBe(answered.length);
  expect(total(samples, `${METRICS.llmLatency}_count`, { provider: 'openai' })).toBe(answered.length);
  expect(matching(samples, `${METRICS.llmLatency}_sum`, { provider: 'openai' }).length).toBeGreaterThan(0);

  // Test duration: one run for WORKER_050 (passed), two for WORKER_051 (failed, regenerated, failed again).
  expect(total(samples, `${METRICS.testDuration}_count`, { result: 'passed' })).toBe(1);
  expect(total(samples, `${METRICS.testDuration}_count`, { result: 'failed' })).toBe(2);
  expect(matching(samples, `${METRICS.testDuration}_bucket`, { result: 'failed', le: '+Inf' }).length).toBeGreaterThan(
    0,
  );
  expect(total(samples, `${METRICS.testDuration}_sum`)).toBeGreaterThan(0);
}, 240_000);

/** A meter that keeps what is recorded, as the worker's would export it. */
function recordingMeter(fail = false): {
  meter: MetricMeter;
  recorded: Array<{ name: string; value: number; tags: MetricTags }>;
} {
  const recorded: Array<{ name: string; value: number; tags: MetricTags }> = [];
  const metric = (name: string) => {
    if (fail) throw new Error('meter broken');
    const put = (value: number, tags: MetricTags = {}) => void recorded.push({ name, value, tags });
    return { name, add: put, record: put, set: put, withTags: () => metric(name) };
  };
  const meter = {
    createCounter: metric,
    createHistogram: metric,
    createGauge: metric,
    withTags: () => meter,
  } as unknown as MetricMeter;
  return { meter, recorded };
}

test('recording never throws: outside an activity, with a no-op meter, or with a broken meter', async () => {
  // The no-op meter is MockActivityEnvironment's.
  const call = {
    provider: 'openai' as const,
    model: 'gpt-4o-mini',
    durationMs: 1234.6,
    tokens: { prompt: 1000, completion: 10 },
    costUsd: 0.0001560004,
  };
  expect(() => recordLlmCall(call)).not.toThrow();
  expect(() => recordWorkerOutcome({ outcome: 'passed', provider: null })).not.toThrow();
  expect(() => startTestTimer().stop({ ok: true, timedOut: false })).not.toThrow();
  const logger = new DefaultLogger('ERROR');
  await new MockActivityEnvironment(undefined, { logger }).run(async () => recordLlmCall(call));
  await new MockActivityEnvironment(undefined, { logger, metricMeter: recordingMeter(true).meter }).run(async () =>
    recordWorkerOutcome({ outcome: 'failed', provider: 'ollama' }),
  );

  const { meter, recorded } = recordingMeter();
  const env = new MockActivityEnvironment(undefined, { logger, metricMeter: meter });
  await env.run(async () => {
    recordLlmCall(call);
    recordWorkerOutcome({ outcome: 'guide', provider: null });
    startTestTimer().stop({ ok: false, timedOut: true });
  });
  expect(recorded).toEqual(
    expect.arrayContaining([
      {
        name: METRICS.llmLatency,
        value: 1235,
        tags: expect.objectContaining({ provider: 'openai', model: 'gpt-4o-mini' }),
      },
      { name: METRICS.llmTokens, value: 1000, tags: expect.objectContaining({ provider: 'openai', type: 'prompt' }) },
      { name: METRICS.llmTokens, value: 10, tags: expect.objectContaining({ provider: 'openai', type: 'completion' }) },
      {
        name: METRICS.llmCost,
        value: 156,
        tags: expect.objectContaining({ provider: 'openai', model: 'gpt-4o-mini' }),
      },
      { name: METRICS.workers, value: 1, tags: expect.objectContaining({ outcome: 'guide', provider: 'none' }) },
      { name: METRICS.testDuration, value: expect.any(Number), tags: expect.objectContaining({ result: 'timed_out' }) },
    ]),
  );
  expect(recorded.every((r) => Number.isInteger(r.value) && r.value >= 0)).toBe(true);
  expect(toMicroUsd(0.0000004)).toBe(0);
  expect(toMicroUsd(1.5)).toBe(1_500_000);
  expect(toMicroUsd(Number.NaN)).toBe(0);
});

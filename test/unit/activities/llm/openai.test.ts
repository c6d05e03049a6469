// generateOpenAI through the real openai SDK against the local stand-in (nothing mocked).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  ApplicationFailure,
  CancelledFailure,
  defaultFailureConverter,
  defaultPayloadConverter,
} from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ArtifactStore } from '../../../../src/activities/artifacts.js';
import { readConfig } from '../../../../src/config.js';
import { LLM_FAILURE_TYPES, SYSTEM_PROMPT, createLlmActivities } from '../../../../src/activities/llm/index.js';
import type { GenerateRequest, Generation } from '../../../../src/schemas.js';
import { startLlmStandIn, type LlmStandIn } from '../../../support/llm-standin.js';
import { freePort } from '../../../support/ports.js';

const KEY = 'sk-test-SECRETKEY0123456789abcdefXYZ';
let s: LlmStandIn;
let dir: string;
let store: ArtifactStore;
// The mock environment logs every failed activity at WARN; the failures here are the point.
const quiet = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

beforeAll(async () => {
  s = await startLlmStandIn();
  dir = await mkdtemp(path.join(os.tmpdir(), 'llm-openai-'));
  store = new ArtifactStore(path.join(dir, 'artifacts'));
});
afterAll(async () => {
  await s.close();
  await rm(dir, { recursive: true, force: true });
});

function activities(env: Record<string, string | undefined> = {}) {
  const config = readConfig({
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: s.openaiBaseUrl,
    OPENAI_MODEL: 'gpt-4o-mini',
    WINGMAN_STATE_DIR: dir,
    ...env,
  });
  return createLlmActivities({ config, store, heartbeatMs: 50 });
}

async function request(workerId: string, timeoutMs = 5_000): Promise<GenerateRequest> {
  const promptRef = await store.putBlob(
    `# ${workerId}\nWrite wingman/core/${workerId.toLowerCase()}.py with a function add(a, b).`,
  );
  return { workerId, promptRef, timeoutMs, cache: false };
}

function generate(req: GenerateRequest, env?: Record<string, string | undefined>, mock = quiet()): Promise<Generation> {
  return mock.run(activities(env).generateOpenAI, req);
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  // What would go into the history: the key must not be anywhere in it.
  const encoded = JSON.stringify(defaultFailureConverter.errorToFailure(err, defaultPayloadConverter));
  expect(encoded).not.toContain(KEY);
  expect(err.message).not.toContain(KEY);
  expect(String(err.stack)).not.toContain(KEY);
  return err;
}

test('a code answer becomes a Generation with tokens, cost and a stored output', async () => {
  s.script('WORKER_001', [{ code: 'def add(a, b):\n    return a + b', path: 'wingman/core/worker_001.py' }]);
  const gen = await generate(await request('WORKER_001'));
  const [call] = s.callsFor('WORKER_001');
  expect(call).toMatchObject({
    provider: 'openai',
    path: '/v1/chat/completions',
    model: 'gpt-4o-mini',
    status: 200,
    authorization: `Bearer ${KEY}`,
  });
  expect(call!.system).toBe(SYSTEM_PROMPT);
  expect(gen.provider).toBe('openai');
  expect(gen.model).toBe('gpt-4o-mini');
  expect(gen.tokens).toEqual({ prompt: call!.promptTokens, completion: call!.completionTokens });
  expect(gen.tokens.prompt).toBeGreaterThan(0);
  expect(gen.costUsd).toBeCloseTo((gen.tokens.prompt * 0.15 + gen.tokens.completion * 0.6) / 1e6, 12);
  expect(gen.durationMs).toBeGreaterThanOrEqual(0);
  const text = await store.readBlob(gen.outputRef);
  expect(text).toBe('```python path=wingman/core/worker_001.py\ndef add(a, b):\n    return a + b\n```\n');
});

test('several files and a guide come back as the raw text', async () => {
  s.script('WORKER_002', [
    { files: { 'wingman/a.py': 'A = 1', 'wingman/tests/test_a.py': 'def test_a():\n    assert True' } },
    { guide: 'Step 1: create the file. You should then add tests.' },
  ]);
  const first = await store.readBlob((await generate(await request('WORKER_002'))).outputRef);
  expect(first).toContain('```python path=wingman/a.py\nA = 1\n```');
  expect(first).toContain('```python path=wingman/tests/test_a.py\n');
  const second = await store.readBlob((await generate(await request('WORKER_002'))).outputRef);
  expect(second).toBe('Step 1: create the file. You should then add tests.');
});

test('429 with Retry-After: 2 is retryable LlmRateLimited with nextRetryDelay 2 s', async () => {
  s.script('WORKER_003', [{ status: 429, retryAfter: 2 }]);
  const f = await failure(generate(await request('WORKER_003')));
  expect(f.type).toBe(LLM_FAILURE_TYPES.rateLimited);
  expect(f.nonRetryable).toBe(false);
  expect(f.nextRetryDelay).toBe(2000);
  expect(s.callsFor('WORKER_003')).toHaveLength(1); // the SDK did not retry on its own
});

test('429 with retry-after-ms or an HTTP date; without a header the policy decides', async () => {
  s.script('WORKER_004', [
    { status: 429, retryAfterMs: 1500 },
    { status: 429, retryAfter: new Date(Date.now() + 4000).toUTCString() },
    { status: 429 },
  ]);
  expect((await failure(generate(await request('WORKER_004')))).nextRetryDelay).toBe(1500);
  const byDate = (await failure(generate(await request('WORKER_004')))).nextRetryDelay as number;
  expect(byDate).toBeGreaterThan(2000);
  expect(byDate).toBeLessThanOrEqual(4000);
  expect((await failure(generate(await request('WORKER_004')))).nextRetryDelay).toBeUndefined();
});

test('429 insufficient_quota is not worth waiting for: LlmRejected', async () => {
  s.script('WORKER_005', [
    {
      status: 429,
      errorCode: 'insufficient_quota',
      message: 'You exceeded your current quota, please check your plan and billing details.',
    },
  ]);
  const f = await failure(generate(await request('WORKER_005')));
  expect(f.type).toBe(LLM_FAILURE_TYPES.rejected);
  expect(f.nonRetryable).toBe(true);
});

test.each([500, 503])('%i is retryable LlmUnavailable', async (status) => {
  const id = `WORKER_01${status === 500 ? 0 : 1}`;
  s.script(id, [{ status }]);
  const f = await failure(generate(await request(id)));
  expect(f.type).toBe(LLM_FAILURE_TYPES.unavailable);
  expect(f.nonRetryable).toBe(false);
  expect(f.message).toContain(`HTTP ${status}`);
});

test.each([400, 401, 403, 404])(
  '%i is non-retryable LlmRejected, and the key is never in the message',
  async (status) => {
    const id = `WORKER_02${status - 400}`;
    s.script(id, [{ status }]);
    const f = await failure(generate(await request(id)));
    expect(f.type).toBe(LLM_FAILURE_TYPES.rejected);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(`HTTP ${status}`);
    if (status === 401) {
      // The stand-in echoed the whole key back, as a careless proxy would.
      expect(f.message).toContain('Incorrect API key provided');
      expect(f.message).toContain('[redacted]');
    }
    if (status === 404) expect(f.message).toMatch(/model_not_found|does not exist/);
  },
);

test('a hung request ends as a non-retryable LlmTimeout after timeoutMs, heartbeating meanwhile', async () => {
  // Non-retryable: the next provider is tried at once.
  s.script('WORKER_030', [{ hang: true }]);
  const mock = quiet();
  let beats = 0;
  mock.on('heartbeat', () => beats++);
  const started = Date.now();
  const f = await failure(generate(await request('WORKER_030', 400), undefined, mock));
  expect(f.type).toBe(LLM_FAILURE_TYPES.timeout);
  expect(f.nonRetryable).toBe(true);
  expect(f.details).toEqual([{ provider: 'openai', status: null }]); // no answer: no billed cost
  expect(Date.now() - started).toBeLessThan(3000);
  expect(beats).toBeGreaterThanOrEqual(3);
  await new Promise((r) => setTimeout(r, 50));
  expect(s.callsFor('WORKER_030')[0]!.aborted).toBe(true);
});

test('headers sent, body never finished: our own timer still ends it (the SDK timeout stops at headers)', async () => {
  s.script('WORKER_031', [{ hang: 'body' }]);
  const started = Date.now();
  const f = await failure(generate(await request('WORKER_031', 400)));
  expect(f.type).toBe(LLM_FAILURE_TYPES.timeout);
  expect(Date.now() - started).toBeLessThan(3000);
});

test('a slow answer within timeoutMs succeeds and heartbeats while waiting', async () => {
  s.script('WORKER_032', [{ code: 'X = 1', delayMs: 400 }]);
  const mock = quiet();
  let beats = 0;
  mock.on('heartbeat', () => beats++);
  const gen = await generate(await request('WORKER_032', 5000), undefined, mock);
  expect(await store.readBlob(gen.outputRef)).toContain('X = 1');
  expect(beats).toBeGreaterThanOrEqual(4);
});

test('cancelling the activity aborts the HTTP call and reports a cancellation, not a failure', async () => {
  s.script('WORKER_033', [{ hang: true }]);
  const mock = quiet();
  const pending = generate(await request('WORKER_033', 60_000), undefined, mock);
  setTimeout(() => mock.cancel(), 150);
  const started = Date.now();
  await expect(pending).rejects.toBeInstanceOf(CancelledFailure);
  expect(Date.now() - started).toBeLessThan(3000);
  await new Promise((r) => setTimeout(r, 50));
  expect(s.callsFor('WORKER_033')[0]!.aborted).toBe(true);
});

test('connection refused and a reset socket are retryable LlmUnavailable', async () => {
  const port = await freePort();
  const refused = await failure(
    generate(await request('WORKER_040'), { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` }),
  );
  expect(refused.type).toBe(LLM_FAILURE_TYPES.unavailable);
  expect(refused.nonRetryable).toBe(false);
  expect(refused.message).toMatch(/ECONNREFUSED/);

  s.script('WORKER_041', [{ reset: true }]);
  const reset = await failure(generate(await request('WORKER_041')));
  expect(reset.type).toBe(LLM_FAILURE_TYPES.unavailable);
  expect(reset.message).toMatch(/other side closed|socket/i);
});

test('an empty, oversized or cut-off completion: non-retryable LlmBadOutput with its cost in details[0]', async () => {
  s.script('WORKER_050', [
    { text: '' },
    { text: '   \n' },
    { text: 'x'.repeat(1024 * 1024 + 1) },
    { code: 'def add(a, b):\n    return', finish: 'length' },
  ]);
  for (const why of [/empty/, /empty/, /exceeds/, /cut off at the max tokens limit/]) {
    const f = await failure(generate(await request('WORKER_050')));
    expect(f.type).toBe(LLM_FAILURE_TYPES.badOutput);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(why);
  }
  const calls = s.callsFor('WORKER_050');
  expect(calls).toHaveLength(4);
  const last = calls[3]!;
  const tokens = { prompt: last.promptTokens, completion: last.completionTokens };
  expect(tokens.completion).toBeGreaterThan(0);
  const f = await failure(generate(await request('WORKER_050'))); // the last step repeats: cut off again
  expect(f.details).toEqual([
    { provider: 'openai', status: null, costUsd: (tokens.prompt * 0.15 + tokens.completion * 0.6) / 1e6, tokens },
  ]);
  expect((f.details![0] as { costUsd: number }).costUsd).toBeGreaterThan(0);
});

test("temperature and max_tokens are sent: defaults 0.1 and 4000, the worker's settings, or the batch's", async () => {
  // The batch's come with the request.
  s.script('WORKER_051', [{ code: 'A = 1' }]);
  await generate(await request('WORKER_051'));
  await generate(await request('WORKER_051'), { WINGMAN_LLM_TEMPERATURE: '0.5', WINGMAN_LLM_MAX_TOKENS: '900' });
  await generate(
    { ...(await request('WORKER_051')), temperature: 0.2, maxTokens: 321 },
    { WINGMAN_LLM_TEMPERATURE: '0.5', WINGMAN_LLM_MAX_TOKENS: '900' },
  );
  expect(s.callsFor('WORKER_051').map((c) => [c.temperature, c.maxTokens])).toEqual([
    [0.1, 4000],
    [0.5, 900],
    [0.2, 321],
  ]);
});

test('a script is consumed one step per call and its last step repeats', async () => {
  s.script('WORKER_060', [{ status: 500 }, { code: 'OK = 1' }]);
  await failure(generate(await request('WORKER_060')));
  for (let i = 0; i < 2; i++)
    expect(await store.readBlob((await generate(await request('WORKER_060'))).outputRef)).toContain('OK = 1');
  expect(s.callsFor('WORKER_060').map((c) => c.status)).toEqual([500, 200, 200]);
});

test('an unknown model is priced at the conservative default', async () => {
  s.script('WORKER_070', [{ code: 'A = 1' }]);
  const gen = await generate(await request('WORKER_070'), { OPENAI_MODEL: 'some-local-model' });
  expect(gen.model).toBe('some-local-model');
  expect(gen.costUsd).toBeCloseTo((gen.tokens.prompt * 30 + gen.tokens.completion * 60) / 1e6, 12);
});

test('no OPENAI_API_KEY on this worker: LlmRejected, no call made', async () => {
  const before = s.calls.length;
  const f = await failure(generate(await request('WORKER_080'), { OPENAI_API_KEY: undefined }));
  expect(f.type).toBe(LLM_FAILURE_TYPES.rejected);
  expect(f.nonRetryable).toBe(true);
  expect(s.calls.length).toBe(before);
});

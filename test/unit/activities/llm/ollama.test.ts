// generateOllama and generateProcessor through real undici against the local stand-in.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ArtifactStore } from '../../../../src/activities/artifacts.js';
import { readConfig } from '../../../../src/config.js';
import { LLM_FAILURE_TYPES, SYSTEM_PROMPT, createLlmActivities } from '../../../../src/activities/llm/index.js';
import type { GenerateRequest, Generation } from '../../../../src/schemas.js';
import { startLlmStandIn, type LlmStandIn } from '../../../support/llm-standin.js';
import { freePort } from '../../../support/ports.js';

let s: LlmStandIn;
let dir: string;
let store: ArtifactStore;
const quiet = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });

beforeAll(async () => {
  s = await startLlmStandIn();
  dir = await mkdtemp(path.join(os.tmpdir(), 'llm-ollama-'));
  store = new ArtifactStore(path.join(dir, 'artifacts'));
});
afterAll(async () => {
  await s.close();
  await rm(dir, { recursive: true, force: true });
});

function runIn(fn: (req: GenerateRequest) => Promise<Generation>, req: GenerateRequest): Promise<Generation> {
  return quiet().run(fn, req);
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

const cases = [
  {
    provider: 'ollama' as const,
    path: '/api/generate',
    model: 'qwen2.5-coder:7b',
    base: (url: string) => ({ OLLAMA_HOST: url }),
    n: 1,
  },
  {
    provider: 'processor' as const,
    path: '/generate',
    model: 'codellama:13b',
    base: (url: string) => ({ INTEL_LLM_PROCESSOR: url }),
    n: 2,
  },
];

describe.each(cases)('$provider', ({ provider, path: wirePath, model, base, n }) => {
  const id = (k: number) => `WORKER_${n}${String(k).padStart(2, '0')}`;

  function generate(
    req: GenerateRequest,
    env: Record<string, string | undefined> = {},
    mock = quiet(),
  ): Promise<Generation> {
    const config = readConfig({ WINGMAN_STATE_DIR: dir, ...base(s.url), ...env });
    const acts = createLlmActivities({ config, store, heartbeatMs: 50 });
    return mock.run(provider === 'ollama' ? acts.generateOllama : acts.generateProcessor, req);
  }

  async function request(workerId: string, timeoutMs = 5_000): Promise<GenerateRequest> {
    return {
      workerId,
      promptRef: await store.putBlob(`Instruction ${workerId}: write wingman/x.py`),
      timeoutMs,
      cache: false,
    };
  }

  test('a code answer becomes a Generation with tokens, zero cost and a stored output', async () => {
    s.script(id(1), [{ code: 'def f():\n    return 1', path: 'wingman/x.py' }], { provider });
    const gen = await generate(await request(id(1)));
    const [call] = s.callsFor(id(1));
    // Ollama gets the system message in its own field; the processor (the original's body) in front of the prompt.
    if (provider === 'ollama')
      expect(call).toMatchObject({ provider, path: wirePath, model, status: 200, system: SYSTEM_PROMPT });
    else
      expect(call).toMatchObject({
        provider,
        path: wirePath,
        model,
        status: 200,
        system: null,
        prompt: `${SYSTEM_PROMPT}\n\nInstruction ${id(1)}: write wingman/x.py`,
      });
    expect(gen).toMatchObject({
      provider,
      model,
      costUsd: 0,
      tokens: { prompt: call!.promptTokens, completion: call!.completionTokens },
    });
    expect(gen.tokens.completion).toBeGreaterThan(0);
    expect(await store.readBlob(gen.outputRef)).toBe('```python path=wingman/x.py\ndef f():\n    return 1\n```\n');
  });

  test('429 with Retry-After: 2 is LlmRateLimited with nextRetryDelay 2 s', async () => {
    s.script(id(2), [{ status: 429, retryAfter: 2 }], { provider });
    const f = await failure(generate(await request(id(2))));
    expect(f).toMatchObject({ type: LLM_FAILURE_TYPES.rateLimited, nonRetryable: false, nextRetryDelay: 2000 });
  });

  test.each([500, 503])('%i is retryable LlmUnavailable', async (status) => {
    s.script(id(3), [{ status }], { provider });
    const f = await failure(generate(await request(id(3))));
    expect(f).toMatchObject({ type: LLM_FAILURE_TYPES.unavailable, nonRetryable: false });
  });

  test.each([400, 401, 404])('%i is non-retryable LlmRejected', async (status) => {
    s.script(id(4), [{ status }], { provider });
    const f = await failure(generate(await request(id(4))));
    expect(f).toMatchObject({ type: LLM_FAILURE_TYPES.rejected, nonRetryable: true });
    if (status === 404) expect(f.message).toContain('not found');
  });

  test('a model-not-found reported as 500 is still LlmRejected', async () => {
    s.script(id(5), [{ status: 500, message: `model "${model}" not found, try pulling it first` }], { provider });
    expect((await failure(generate(await request(id(5))))).type).toBe(LLM_FAILURE_TYPES.rejected);
  });

  test('a hung request ends as a non-retryable LlmTimeout quickly; so does a body that never ends', async () => {
    // Quickly: the next provider is tried at once.
    for (const [k, hang] of [
      [6, true],
      [7, 'body'],
    ] as const) {
      s.script(id(k), [{ hang }], { provider });
      const mock = quiet();
      let beats = 0;
      mock.on('heartbeat', () => beats++);
      const started = Date.now();
      const f = await failure(generate(await request(id(k), 400), {}, mock));
      expect(f).toMatchObject({ type: LLM_FAILURE_TYPES.timeout, nonRetryable: true });
      // No answer, nothing billed: the details carry no cost (the workflow estimates one).
      expect(f.details).toEqual([{ provider, status: null }]);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(beats).toBeGreaterThanOrEqual(3);
    }
  });

  test('cancelling the activity aborts the request', async () => {
    s.script(id(8), [{ hang: true }], { provider });
    const mock = quiet();
    const pending = generate(await request(id(8), 60_000), {}, mock);
    setTimeout(() => mock.cancel(), 150);
    await expect(pending).rejects.toBeInstanceOf(CancelledFailure);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.callsFor(id(8))[0]!.aborted).toBe(true);
  });

  test('connection refused and a reset socket are LlmUnavailable', async () => {
    const port = await freePort();
    const refused = await failure(generate(await request(id(9)), base(`http://127.0.0.1:${port}`)));
    expect(refused).toMatchObject({ type: LLM_FAILURE_TYPES.unavailable, nonRetryable: false });
    expect(refused.message).toContain('ECONNREFUSED');
    s.script(id(10), [{ reset: true }], { provider });
    const reset = await failure(generate(await request(id(10))));
    expect(reset).toMatchObject({ type: LLM_FAILURE_TYPES.unavailable, nonRetryable: false });
  });

  test('empty or oversized output is LlmBadOutput', async () => {
    s.script(id(11), [{ text: '' }, { text: 'y'.repeat(1024 * 1024 + 10) }], { provider });
    for (let i = 0; i < 2; i++)
      expect(await failure(generate(await request(id(11))))).toMatchObject({
        type: LLM_FAILURE_TYPES.badOutput,
        nonRetryable: true,
      });
  });

  test("temperature and max tokens reach the server: the defaults (0.1, 4000), the worker's, the batch's", async () => {
    s.script(id(13), [{ code: 'T = 1' }], { provider });
    await generate(await request(id(13)));
    await generate(await request(id(13)), { WINGMAN_LLM_TEMPERATURE: '0.7', WINGMAN_LLM_MAX_TOKENS: '123' });
    await generate(
      { ...(await request(id(13))), temperature: 0, maxTokens: 77 },
      { WINGMAN_LLM_TEMPERATURE: '0.7', WINGMAN_LLM_MAX_TOKENS: '123' },
    );
    expect(s.callsFor(id(13)).map((c) => [c.temperature, c.maxTokens])).toEqual([
      [0.1, 4000],
      [0.7, 123],
      [0, 77],
    ]);
    const keys = s.callsFor(id(13))[0]!.keys;
    if (provider === 'ollama') expect(keys).toEqual(expect.arrayContaining(['model', 'prompt', 'system', 'options']));
    else expect(keys).toEqual(expect.arrayContaining(['prompt', 'model', 'max_tokens', 'temperature']));
  });

  test('an answer cut off at max tokens is LlmBadOutput with what it cost in details[0]; nothing stored', async () => {
    s.script(id(14), [{ code: 'def half(', finish: 'length' }], { provider });
    const f = await failure(generate(await request(id(14))));
    expect(f).toMatchObject({ type: LLM_FAILURE_TYPES.badOutput, nonRetryable: true });
    expect(f.message).toMatch(/cut off at the max tokens limit/);
    const [call] = s.callsFor(id(14));
    expect(f.details).toEqual([
      {
        provider,
        status: null,
        costUsd: 0,
        tokens: { prompt: call!.promptTokens, completion: call!.completionTokens },
      },
    ]);
    expect(call!.completionTokens).toBeGreaterThan(0);
  });

  test('not configured on this worker: LlmRejected', async () => {
    const config = readConfig({ WINGMAN_STATE_DIR: dir });
    const acts = createLlmActivities({ config, store });
    const f = await failure(
      runIn(provider === 'ollama' ? acts.generateOllama : acts.generateProcessor, await request(id(12))),
    );
    expect(f).toMatchObject({ type: LLM_FAILURE_TYPES.rejected, nonRetryable: true });
  });
});

test('a script for one provider does not answer another', async () => {
  s.script('WORKER_300', [{ status: 503 }], { provider: 'ollama' });
  const config = readConfig({ WINGMAN_STATE_DIR: dir, OLLAMA_HOST: s.url, INTEL_LLM_PROCESSOR: s.url });
  const acts = createLlmActivities({ config, store });
  const req: GenerateRequest = {
    workerId: 'WORKER_300',
    promptRef: await store.putBlob('WORKER_300 prompt'),
    timeoutMs: 5000,
    cache: false,
  };
  await expect(runIn(acts.generateOllama, req)).rejects.toMatchObject({ type: LLM_FAILURE_TYPES.unavailable });
  const gen = await runIn(acts.generateProcessor, req);
  expect(await store.readBlob(gen.outputRef)).toContain('WORKER_300'); // the stand-in's fallback answer
});

describe('processor answer shapes', () => {
  const config = () => readConfig({ WINGMAN_STATE_DIR: dir, INTEL_LLM_PROCESSOR: s.url });
  const generate = async (workerId: string) =>
    runIn(createLlmActivities({ config: config(), store }).generateProcessor, {
      workerId,
      promptRef: await store.putBlob(`${workerId}: write wingman/s.py`),
      timeoutMs: 5000,
      cache: false,
    });

  test.each(['response', 'text', 'content', 'choices-message', 'choices-text'] as const)(
    '%s is read, with its token usage',
    async (shape) => {
      const workerId = `WORKER_4${['response', 'text', 'content', 'choices-message', 'choices-text'].indexOf(shape)}0`;
      s.script(workerId, [{ code: `SHAPE = ${JSON.stringify(shape)}`, shape }], { provider: 'processor' });
      const gen = await generate(workerId);
      expect(await store.readBlob(gen.outputRef)).toBe(`\`\`\`python\nSHAPE = ${JSON.stringify(shape)}\n\`\`\`\n`);
      const [call] = s.callsFor(workerId);
      expect(gen).toMatchObject({
        provider: 'processor',
        model: 'codellama:13b',
        costUsd: 0,
        tokens: { prompt: call!.promptTokens, completion: call!.completionTokens },
      });
      expect(gen.tokens.completion).toBeGreaterThan(0);
    },
  );

  test('an unknown shape fails as LlmBadOutput naming the shapes accepted and the keys seen', async () => {
    s.script('WORKER_460', [{ code: 'X = 1', shape: 'unknown' }], { provider: 'processor' });
    const f = await failure(generate('WORKER_460'));
    expect(f).toMatchObject({ type: LLM_FAILURE_TYPES.badOutput, nonRetryable: true });
    expect(f.message).toContain('response, text, content, choices[0].message.content, choices[0].text');
    expect(f.message).toMatch(/keys seen: model, output, status/);
  });

  test('an OpenAI-like answer cut off (choices[0].finish_reason "length") is costed bad output', async () => {
    s.script('WORKER_461', [{ code: 'def half(', shape: 'choices-message', finish: 'length' }], {
      provider: 'processor',
    });
    const f = await failure(generate('WORKER_461'));
    expect(f.message).toMatch(/cut off/);
    expect(f.details).toEqual([
      {
        provider: 'processor',
        status: null,
        costUsd: 0,
        tokens: { prompt: expect.any(Number), completion: expect.any(Number) },
      },
    ]);
  });
});

test('OLLAMA_HOST as host:port, with OLLAMA_PORT', async () => {
  s.script('WORKER_301', [{ code: 'Z = 3' }], { provider: 'ollama' });
  const config = readConfig({ WINGMAN_STATE_DIR: dir, OLLAMA_HOST: '127.0.0.1', OLLAMA_PORT: String(s.port) });
  const gen = await runIn(createLlmActivities({ config, store }).generateOllama, {
    workerId: 'WORKER_301',
    promptRef: await store.putBlob('WORKER_301'),
    timeoutMs: 5000,
    cache: false,
  });
  expect(await store.readBlob(gen.outputRef)).toContain('Z = 3');
});

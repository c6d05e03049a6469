// The stand-ins themselves: wire shapes, scripting, recording (plain fetch as the client).
/* eslint-disable @typescript-eslint/no-explicit-any -- answers of many wire shapes, read as loose JSON */
import { startLlmStandIn, words, type LlmStandIn } from '../../support/llm-standin.js';
import { startMem0StandIn } from '../../support/mem0-standin.js';

describe('LLM stand-in', () => {
  let s: LlmStandIn;
  beforeEach(async () => {
    s = await startLlmStandIn({ models: ['qwen2.5-coder:7b', 'llama3.2:1b'] });
  });
  afterEach(() => s.close());

  const chat = (content: string, headers: Record<string, string> = {}) =>
    fetch(`${s.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content },
        ],
      }),
    });
  const gen = (p: string, prompt: string) =>
    fetch(`${s.url}${p}`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm1', prompt, system: 'sys', stream: false }),
    });

  test('OpenAI chat.completion shape and word-count usage', async () => {
    s.script('WORKER_007', [{ code: 'x = 1', path: 'a/b.py' }]);
    const res = await chat('please do WORKER_007 and WORKER_008');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: '```python path=a/b.py\nx = 1\n```\n' },
          finish_reason: 'stop',
        },
      ],
    });
    expect(typeof body.id).toBe('string');
    expect(typeof body.created).toBe('number');
    expect(body.usage).toEqual({
      prompt_tokens: words('please do WORKER_007 and WORKER_008') + 2,
      completion_tokens: 6,
      total_tokens: body.usage.prompt_tokens + 6,
    });
    expect(s.calls[0]).toMatchObject({
      provider: 'openai',
      workerId: 'WORKER_007',
      model: 'gpt-4o-mini',
      system: 'be brief',
      status: 200,
      aborted: false,
    });
  });

  test('OpenAI error shape and Retry-After', async () => {
    s.script('WORKER_009', [{ status: 429, retryAfter: 3 }]);
    const res = await chat('WORKER_009');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(await res.json()).toEqual({
      error: { message: expect.any(String), type: 'requests', param: null, code: 'rate_limit_exceeded' },
    });
  });

  test('apiKey option: a wrong key gets 401', async () => {
    await s.close();
    s = await startLlmStandIn({ apiKey: 'right' });
    expect((await chat('WORKER_001', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await chat('WORKER_001', { authorization: 'Bearer right' })).status).toBe(200);
  });

  test('Ollama /api/generate, /api/tags and the processor /generate', async () => {
    s.script('WORKER_010', [{ text: 'hello there' }], { provider: 'ollama' });
    s.script('WORKER_010', [{ guide: 'Step 1: think' }], { provider: 'processor' });
    const o = (await (await gen('/api/generate', 'WORKER_010 go')).json()) as Record<string, unknown>;
    expect(o).toMatchObject({ model: 'm1', response: 'hello there', done: true, prompt_eval_count: 3, eval_count: 2 });
    const p = (await (await gen('/generate', 'WORKER_010 go')).json()) as Record<string, unknown>;
    expect(p).toMatchObject({ response: 'Step 1: think', done: true });
    const tags = (await (await fetch(`${s.url}/api/tags`)).json()) as { models: Array<{ name: string }> };
    expect(tags.models.map((m) => m.name)).toEqual(['qwen2.5-coder:7b', 'llama3.2:1b']);
    expect(s.callsFor('WORKER_010').map((c) => [c.provider, c.path, c.system])).toEqual([
      ['ollama', '/api/generate', 'sys'],
      ['processor', '/generate', 'sys'],
    ]);
  });

  test('the sampling settings each wire format carries are recorded; GET / answers 200', async () => {
    await chat('WORKER_012 no settings');
    await fetch(`${s.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'g',
        messages: [{ role: 'user', content: 'WORKER_012' }],
        temperature: 0.3,
        max_tokens: 50,
      }),
    });
    await fetch(`${s.url}/api/generate`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'm',
        prompt: 'WORKER_012',
        stream: false,
        options: { temperature: 0.2, num_predict: 40 },
      }),
    });
    await fetch(`${s.url}/generate`, {
      method: 'POST',
      body: JSON.stringify({
        prompt: 'WORKER_012',
        model: 'codellama:13b',
        max_tokens: 30,
        temperature: 0.1,
        stream: false,
      }),
    });
    expect(s.callsFor('WORKER_012').map((c) => [c.provider, c.temperature, c.maxTokens])).toEqual([
      ['openai', null, null],
      ['openai', 0.3, 50],
      ['ollama', 0.2, 40],
      ['processor', 0.1, 30],
    ]);
    expect(s.callsFor('WORKER_012')[3]!.keys).toEqual(['prompt', 'model', 'max_tokens', 'temperature', 'stream']);
    const health = await fetch(`${s.url}/`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
  });

  test('processor answer shapes and a cut-off finish', async () => {
    const shapes = ['response', 'text', 'content', 'choices-message', 'choices-text', 'unknown'] as const;
    s.script(
      'WORKER_013',
      shapes.map((shape) => ({ text: `in ${shape}`, shape, finish: 'length' as const })),
      { provider: 'processor' },
    );
    const bodies: Array<Record<string, any>> = [];
    for (let i = 0; i < shapes.length; i++)
      bodies.push((await (await gen('/generate', 'WORKER_013')).json()) as Record<string, any>);
    expect(bodies[0]).toMatchObject({ response: 'in response', done_reason: 'length' });
    expect(bodies[1]).toMatchObject({ text: 'in text', finish_reason: 'length', usage: { completion_tokens: 2 } });
    expect(bodies[2]).toMatchObject({ content: 'in content', finish_reason: 'length' });
    expect(bodies[3]).toMatchObject({
      choices: [{ message: { content: 'in choices-message' }, finish_reason: 'length' }],
    });
    expect(bodies[4]).toMatchObject({ choices: [{ text: 'in choices-text', finish_reason: 'length' }] });
    expect(Object.keys(bodies[5]!).sort()).toEqual(['model', 'output', 'status']);
    // Other providers ignore `shape`; `finish` reaches them too.
    s.script('WORKER_014', [{ text: 'x', shape: 'text', finish: 'length' }]);
    const o = (await (await chat('WORKER_014')).json()) as Record<string, any>;
    expect(o.choices[0]).toMatchObject({ message: { content: 'x' }, finish_reason: 'length' });
  });

  test('Ollama errors are {error: string}; an unknown path is 404', async () => {
    s.script('WORKER_011', [{ status: 404 }]);
    const res = await gen('/api/generate', 'WORKER_011');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'model "m1" not found, try pulling it first' });
    expect((await fetch(`${s.url}/api/nothing`, { method: 'POST' })).status).toBe(404);
  });

  test('steps are consumed once, the last repeats; fallback answers unscripted workers', async () => {
    s.script('WORKER_012', [{ status: 500 }, { text: 'a' }, { text: 'b' }]);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await gen('/api/generate', 'WORKER_012')).status);
    expect(statuses).toEqual([500, 200, 200, 200]);
    s.fallback((c) => ({ text: `default for ${c.workerId} via ${c.provider}` }));
    expect(((await (await gen('/generate', 'WORKER_999')).json()) as { response: string }).response).toBe(
      'default for WORKER_999 via processor',
    );
  });

  test('several files get one block each with path= info strings', async () => {
    s.script('WORKER_013', [{ files: { 'pkg/a.py': 'A = 1\n', 'run.sh': 'echo hi' } }]);
    const body = (await (await gen('/api/generate', 'WORKER_013')).json()) as { response: string };
    expect(body.response).toBe('```python path=pkg/a.py\nA = 1\n```\n\n```bash path=run.sh\necho hi\n```\n');
  });

  test('close() ends hung requests', async () => {
    s.script('WORKER_014', [{ hang: true }]);
    const pending = gen('/api/generate', 'WORKER_014').then(
      () => 'answered',
      () => 'closed',
    );
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await s.close();
    expect(await pending).toBe('closed');
    expect(Date.now() - started).toBeLessThan(1000);
    s = await startLlmStandIn(); // for afterEach
  });
});

describe('mem0 stand-in', () => {
  test('add, search and list with the self-hosted paths; X-API-Key recorded', async () => {
    const m = await startMem0StandIn();
    try {
      const post = (p: string, body: unknown) =>
        fetch(`${m.url}${p}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': 'k1' },
          body: JSON.stringify(body),
        });
      const add = await post('/memories', {
        messages: [{ role: 'user', content: 'WORKER_001 passed with pytest' }],
        user_id: 'wingman',
        metadata: { batch: 'b1' },
      });
      expect(add.status).toBe(200);
      expect(await add.json()).toEqual({
        results: [{ id: expect.any(String), memory: 'WORKER_001 passed with pytest', event: 'ADD' }],
      });
      const found = (await (await post('/search', { query: 'pytest', filters: { user_id: 'wingman' } })).json()) as {
        results: Array<{ memory: string; score: number }>;
      };
      expect(found.results).toHaveLength(1);
      expect(found.results[0]).toMatchObject({ memory: 'WORKER_001 passed with pytest', metadata: { batch: 'b1' } });
      const none = (await (await post('/search', { query: 'pytest', filters: { user_id: 'other' } })).json()) as {
        results: unknown[];
      };
      expect(none.results).toEqual([]);
      const list = (await (await fetch(`${m.url}/memories?user_id=wingman`)).json()) as { results: unknown[] };
      expect(list.results).toHaveLength(1);
      expect((await post('/memories', { messages: [{ role: 'user', content: 'x' }] })).status).toBe(400);
      expect((await post('/memories', { user_id: 'u' })).status).toBe(422);
      expect(m.calls.map((c) => [c.method, c.path, c.apiKey, c.status])).toEqual([
        ['POST', '/memories', 'k1', 200],
        ['POST', '/search', 'k1', 200],
        ['POST', '/search', 'k1', 200],
        ['GET', '/memories', null, 200],
        ['POST', '/memories', 'k1', 400],
        ['POST', '/memories', 'k1', 422],
      ]);
      expect(m.memories).toHaveLength(1);
    } finally {
      await m.close();
    }
  });

  test('scripted failures: 500, then a hang ended by close(); a required key', async () => {
    const m = await startMem0StandIn({ apiKey: 'secret' });
    const post = (key: string) =>
      fetch(`${m.url}/memories`, {
        method: 'POST',
        headers: { 'x-api-key': key },
        body: JSON.stringify({ messages: [], user_id: 'u' }),
      });
    expect((await post('wrong')).status).toBe(401);
    m.script([{ status: 500 }, { hang: true }]);
    const res = await post('secret');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ detail: 'Internal Server Error' });
    const hung = post('secret').then(
      () => 'answered',
      () => 'closed',
    );
    await new Promise((r) => setTimeout(r, 100));
    await m.close();
    expect(await hung).toBe('closed');
    expect(m.calls.map((c) => c.status)).toEqual([401, 500, 0]);
  });
});

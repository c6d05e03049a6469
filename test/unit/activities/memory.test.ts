// storeRetrospective against a tiny local HTTP server standing in for self-hosted mem0.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { readConfig } from '../../../src/config.js';
import { findLessons, readLocalLessons, storeRetrospective } from '../../../src/activities/memory.js';
import { ArtifactStore } from '../../../src/activities/artifacts.js';
import { fileURLToPath } from 'node:url';
import type { Retrospective } from '../../../src/schemas.js';
import { startMem0StandIn } from '../../support/mem0-standin.js';

const retro: Retrospective = {
  batchId: 'batch-1',
  workerId: 'WORKER_013',
  name: 'Semantic Analyzer - Clarity Tests',
  outcome: 'passed',
  provider: 'openai',
  attempts: 2,
  files: ['wingman/tests/test_semantic_analyzer.py'],
  notes: ['first answer was a guide', 'vague band needed a range assertion'],
};

type Seen = { method?: string; url?: string; headers: IncomingMessage['headers']; body: unknown };
let dir: string;
let server: Server | undefined;
let seen: Seen[];
const warn = console.warn;
afterAll(() => {
  console.warn = warn;
});

async function mem0(reply: (res: import('node:http').ServerResponse) => void): Promise<string> {
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: data ? JSON.parse(data) : null });
      reply(res);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}
const config = (env: Record<string, string>) => readConfig({ WINGMAN_STATE_DIR: path.join(dir, 'state'), ...env });
const localLines = async () =>
  (await readFile(path.join(dir, 'state', 'memory.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'memory-'));
  seen = [];
  console.warn = () => undefined; // the fallback warns by design
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

test('posts to <MEM0_API_URL>/memories (no /v1) with messages, user_id, metadata and X-API-Key', async () => {
  const url = await mem0((res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[]}'));
  const r = await storeRetrospective(
    { config: config({ MEM0_API_URL: `${url}/`, MEM0_API_KEY: 'm0-key', MEM0_USER_ID: 'wingman-ci' }) },
    retro,
  );
  expect(r).toEqual({ stored: 'mem0' });
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatchObject({ method: 'POST', url: '/memories' });
  expect(seen[0]?.headers['x-api-key']).toBe('m0-key');
  const body = seen[0]?.body as {
    messages: Array<{ role: string; content: string }>;
    user_id: string;
    metadata: Record<string, unknown>;
  };
  expect(body.user_id).toBe('wingman-ci');
  expect(body.messages).toEqual([
    {
      role: 'user',
      content: expect.stringContaining(
        'Worker WORKER_013 (Semantic Analyzer - Clarity Tests) in batch batch-1 ended passed ' +
          'after 2 generations with provider openai.',
      ),
    },
  ]);
  expect(body.messages[0]?.content).toContain('- first answer was a guide');
  expect(body.metadata).toMatchObject({
    batchId: 'batch-1',
    workerId: 'WORKER_013',
    outcome: 'passed',
    provider: 'openai',
    attempts: 2,
  });
});

test('no API key, no header', async () => {
  const url = await mem0((res) => res.writeHead(201).end('{}'));
  expect(await storeRetrospective({ config: config({ MEM0_API_URL: url }) }, retro)).toEqual({ stored: 'mem0' });
  expect(seen[0]?.headers['x-api-key']).toBeUndefined();
});

test('mem0 answering 500 falls back to the local JSONL store, inside an activity', async () => {
  const url = await mem0((res) => res.writeHead(500).end('boom'));
  const r = await new MockActivityEnvironment().run(
    storeRetrospective,
    { config: config({ MEM0_API_URL: url }) },
    retro,
  );
  expect(r).toEqual({ stored: 'local' });
  const [line] = await localLines();
  expect(line).toMatchObject({ ...retro, mem0Error: 'mem0 answered 500: boom' });
  expect(line.text).toContain('Notes:');
});

test('mem0 not answering at all (hang) falls back within the timeout', async () => {
  const url = await mem0(() => undefined); // never replies
  const started = Date.now();
  expect(await storeRetrospective({ config: config({ MEM0_API_URL: url }), mem0TimeoutMs: 300 }, retro)).toEqual({
    stored: 'local',
  });
  expect(Date.now() - started).toBeLessThan(2000);
  expect((await localLines())[0].mem0Error).toMatch(/timeout|abort/i);
});

test('accepted by the shared mem0 stand-in, API key checked', async () => {
  const standin = await startMem0StandIn({ apiKey: 'k1' });
  try {
    expect(
      await storeRetrospective({ config: config({ MEM0_API_URL: standin.url, MEM0_API_KEY: 'k1' }) }, retro),
    ).toEqual({ stored: 'mem0' });
    expect(standin.memories[0]).toMatchObject({ user_id: 'wingman', metadata: { workerId: 'WORKER_013' } });
    expect(
      await storeRetrospective({ config: config({ MEM0_API_URL: standin.url, MEM0_API_KEY: 'wrong' }) }, retro),
    ).toEqual({ stored: 'local' });
  } finally {
    await standin.close();
  }
});

test('mem0 unreachable falls back; without MEM0_API_URL it is local; lines append', async () => {
  const url = await mem0((res) => res.end());
  await new Promise((r) => server!.close(r));
  server = undefined;
  expect(await storeRetrospective({ config: config({ MEM0_API_URL: url }) }, retro)).toEqual({ stored: 'local' });
  expect(
    await storeRetrospective(
      { config: config({}) },
      { ...retro, workerId: 'WORKER_034', outcome: 'guide', provider: null },
    ),
  ).toEqual({ stored: 'local' });
  const lines = await localLines();
  expect(lines.map((l) => l.workerId)).toEqual(['WORKER_013', 'WORKER_034']);
  expect(lines[0].mem0Error).toMatch(/ECONNREFUSED/);
  expect(lines[1]).not.toHaveProperty('mem0Error');
  expect(lines[1].text).toContain('ended guide after 2 generations without a provider answering.');
});

test('never throws, even when the local store cannot be written', async () => {
  const blocked = path.join(dir, 'file-not-dir');
  await (await import('node:fs/promises')).writeFile(blocked, 'x');
  const cfg = { ...config({}), stateDir: path.join(blocked, 'state') };
  expect(await storeRetrospective({ config: cfg }, retro)).toEqual({ stored: 'local' });
});

// ---- lessons: stored with the retrospective, read back before a later worker's first prompt ----

const corpusFile = fileURLToPath(new URL('../../../../shared/corpus/workers/WORKER_001.md', import.meta.url));
const ASSERTION = "FAILED tests/test_semantic_analyzer.py::test_high - AssertionError: assert 'Medium' == 'High'";
const taught = (over: Partial<Retrospective> = {}): Retrospective => ({
  ...retro,
  workerId: 'WORKER_001',
  name: 'Semantic Analyzer',
  files: ['wingman/validation/semantic_analyzer.py'],
  model: 'gpt-4o-mini',
  durationMs: 4200,
  costUsd: 0.0021,
  tokens: { prompt: 900, completion: 400 },
  tests: { passed: 4, failed: 0 },
  failures: [{ attempt: 1, kind: 'tests', message: ASSERTION }],
  changes: 'regenerated with the test failure; tests passed',
  ...over,
});
const dependent = {
  workerId: 'WORKER_013',
  dependencies: ['WORKER_001'],
  deliverables: ['wingman/tests/test_semantic_analyzer.py'],
};

test('the retrospective records failures, changes, model, cost and the RETROSPECTIVE answers', async () => {
  // The answers to the questions in the instruction's RETROSPECTIVE section.
  const store = new ArtifactStore(path.join(dir, 'state', 'artifacts'));
  const instructionSha256 = await store.put(await readFile(corpusFile, 'utf8'));
  expect(await storeRetrospective({ config: config({}), store }, taught({ instructionSha256 }))).toEqual({
    stored: 'local',
  });
  const [line] = await localLines();
  expect(line.text).toContain('with provider openai (gpt-4o-mini).');
  expect(line.text).toContain('Took 4.2 s, cost $0.0021, 900 prompt + 400 completion tokens.');
  expect(line.text).toContain(`- attempt 1 (tests): ${ASSERTION}`);
  expect(line.text).toContain('What changed before it passed: regenerated with the test failure; tests passed');
  // WORKER_001's own question, which the data does not answer: said so, not made up.
  expect(line.answers).toEqual([
    { question: 'Record which heuristics were chosen and why', answer: 'not answered by the data' },
  ]);
  expect(line.lesson).toMatchObject({
    workerId: 'WORKER_001',
    errorClasses: ['AssertionError'],
    packages: ['wingman/validation'],
  });
  expect(line.lesson.lesson).toContain(ASSERTION);
});

test('a failed worker without an attempt log teaches the assertion of its last test log', async () => {
  const store = new ArtifactStore(path.join(dir, 'state', 'artifacts'));
  const testOutputRef = await store.put(
    `E       AssertionError: boom\n=== short test summary info ===\n${ASSERTION}\n1 failed`,
  );
  await storeRetrospective(
    { config: config({}), store },
    taught({ outcome: 'failed', failures: undefined, changes: null, testOutputRef }),
  );
  const [line] = await localLines();
  expect(line.failures).toEqual([{ attempt: 2, kind: 'tests', message: ASSERTION }]);
  expect(line.lesson.lesson).toContain('It ended failed.');
});

test('lessons come back from the local JSONL store, read incrementally as lines are appended', async () => {
  const cfg = config({});
  expect(await findLessons({ config: cfg }, dependent)).toEqual([]);
  await storeRetrospective({ config: cfg }, taught());
  const first = await findLessons({ config: cfg }, dependent);
  expect(first.map((c) => [c.record.workerId, c.why])).toEqual([['WORKER_001', 'your dependency WORKER_001']]);
  expect(first[0]!.record.lesson).toContain(ASSERTION);
  await storeRetrospective({ config: cfg }, taught({ workerId: 'WORKER_002', files: ['wingman/tests/conftest.py'] }));
  // Nothing to learn.
  await storeRetrospective({ config: cfg }, taught({ workerId: 'WORKER_003', failures: [], attempts: 1 }));
  expect((await findLessons({ config: cfg }, dependent)).map((c) => c.record.workerId)).toEqual([
    'WORKER_001',
    'WORKER_002',
  ]);
  expect((await readLocalLessons(path.join(dir, 'state', 'memory.jsonl'))).length).toBe(2);
});

test("lessons come back from mem0's POST /search (query and user_id), in its wire format", async () => {
  const standin = await startMem0StandIn({ apiKey: 'k1' });
  try {
    const cfg = config({ MEM0_API_URL: standin.url, MEM0_API_KEY: 'k1', MEM0_USER_ID: 'team' });
    expect(await storeRetrospective({ config: cfg }, taught())).toEqual({ stored: 'mem0' });
    expect(standin.memories[0]!.memory).toContain(
      `Lesson: WORKER_001 (wingman/validation/semantic_analyzer.py) attempt 1 failed its tests: ${ASSERTION}`,
    );
    const chosen = await findLessons({ config: cfg }, dependent);
    expect(chosen.map((c) => [c.record.workerId, c.why])).toEqual([['WORKER_001', 'your dependency WORKER_001']]);
    expect(chosen[0]!.record.lesson).toContain(ASSERTION);
    const searches = standin.calls.filter((c) => c.path === '/search');
    expect(searches.length).toBeGreaterThan(0);
    expect(searches[0]).toMatchObject({
      method: 'POST',
      apiKey: 'k1',
      status: 200,
      body: { query: 'WORKER_001 lesson', user_id: 'team', filters: { user_id: 'team' } },
    });
    // Another user's memories are not this team's lessons.
    expect(
      await findLessons(
        { config: config({ MEM0_API_URL: standin.url, MEM0_API_KEY: 'k1', MEM0_USER_ID: 'other' }) },
        dependent,
      ),
    ).toEqual([]);
  } finally {
    await standin.close();
  }
});

test('mem0 search down: lessons from the local store, no throw', async () => {
  const cfg = config({});
  await storeRetrospective({ config: cfg }, taught());
  const url = await mem0((res) => res.writeHead(500).end('boom'));
  const chosen = await findLessons({ config: config({ MEM0_API_URL: url }) }, dependent);
  expect(chosen.map((c) => c.record.workerId)).toEqual(['WORKER_001']);
  expect(seen.some((s) => s.url === '/search')).toBe(true);
});

test('an instruction that passed before gets no lessons, from either store: its prompt stays cached', async () => {
  const sha = 'c'.repeat(64);
  const target = { ...dependent, instructionSha256: sha };
  const passed = taught({
    workerId: 'WORKER_013',
    files: dependent.deliverables,
    failures: [],
    attempts: 1,
    instructionSha256: sha,
  });
  const local = config({});
  await storeRetrospective({ config: local }, taught());
  expect((await findLessons({ config: local }, target)).map((c) => c.record.workerId)).toEqual(['WORKER_001']);
  await storeRetrospective({ config: local }, passed);
  expect(await findLessons({ config: local }, target)).toEqual([]);
  // The instruction changed.
  expect((await findLessons({ config: local }, { ...target, instructionSha256: 'd'.repeat(64) })).length).toBe(1);

  const standin = await startMem0StandIn();
  try {
    const cfg = { ...config({ MEM0_API_URL: standin.url }), stateDir: path.join(dir, 'state-mem0') };
    await storeRetrospective({ config: cfg }, taught());
    expect((await findLessons({ config: cfg }, target)).length).toBe(1);
    await storeRetrospective({ config: cfg }, passed);
    expect(standin.memories.at(-1)!.metadata).toMatchObject({ instructionSha256: sha, outcome: 'passed' });
    expect(await findLessons({ config: cfg }, target)).toEqual([]);
  } finally {
    await standin.close();
  }
});

// storeRetrospective against a tiny local HTTP server standing in for self-hosted mem0.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { readConfig } from '../../../src/config.js';
import { storeRetrospective } from '../../../src/activities/memory.js';
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
const localLines = async () => (await readFile(path.join(dir, 'state', 'memory.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));

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
  const r = await storeRetrospective({ config: config({ MEM0_API_URL: `${url}/`, MEM0_API_KEY: 'm0-key', MEM0_USER_ID: 'wingman-ci' }) }, retro);
  expect(r).toEqual({ stored: 'mem0' });
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatchObject({ method: 'POST', url: '/memories' });
  expect(seen[0]?.headers['x-api-key']).toBe('m0-key');
  const body = seen[0]?.body as { messages: Array<{ role: string; content: string }>; user_id: string; metadata: Record<string, unknown> };
  expect(body.user_id).toBe('wingman-ci');
  expect(body.messages).toEqual([{ role: 'user', content: expect.stringContaining('Worker WORKER_013 (Semantic Analyzer - Clarity Tests) in batch batch-1 ended passed after 2 generations with provider openai.') }]);
  expect(body.messages[0]?.content).toContain('- first answer was a guide');
  expect(body.metadata).toMatchObject({ batchId: 'batch-1', workerId: 'WORKER_013', outcome: 'passed', provider: 'openai', attempts: 2 });
});

test('no API key, no header', async () => {
  const url = await mem0((res) => res.writeHead(201).end('{}'));
  expect(await storeRetrospective({ config: config({ MEM0_API_URL: url }) }, retro)).toEqual({ stored: 'mem0' });
  expect(seen[0]?.headers['x-api-key']).toBeUndefined();
});

test('mem0 answering 500 falls back to the local JSONL store, inside an activity', async () => {
  const url = await mem0((res) => res.writeHead(500).end('boom'));
  const r = await new MockActivityEnvironment().run(storeRetrospective, { config: config({ MEM0_API_URL: url }) }, retro);
  expect(r).toEqual({ stored: 'local' });
  const [line] = await localLines();
  expect(line).toMatchObject({ ...retro, mem0Error: 'mem0 answered 500: boom' });
  expect(line.text).toContain('Notes:');
});

test('mem0 not answering at all (hang) falls back within the timeout', async () => {
  const url = await mem0(() => undefined); // never replies
  const started = Date.now();
  expect(await storeRetrospective({ config: config({ MEM0_API_URL: url }), mem0TimeoutMs: 300 }, retro)).toEqual({ stored: 'local' });
  expect(Date.now() - started).toBeLessThan(2000);
  expect((await localLines())[0].mem0Error).toMatch(/timeout|abort/i);
});

test('accepted by the shared mem0 stand-in, API key checked', async () => {
  const standin = await startMem0StandIn({ apiKey: 'k1' });
  try {
    expect(await storeRetrospective({ config: config({ MEM0_API_URL: standin.url, MEM0_API_KEY: 'k1' }) }, retro)).toEqual({ stored: 'mem0' });
    expect(standin.memories[0]).toMatchObject({ user_id: 'wingman', metadata: { workerId: 'WORKER_013' } });
    expect(await storeRetrospective({ config: config({ MEM0_API_URL: standin.url, MEM0_API_KEY: 'wrong' }) }, retro)).toEqual({ stored: 'local' });
  } finally {
    await standin.close();
  }
});

test('mem0 unreachable falls back; without MEM0_API_URL it is local; lines append', async () => {
  const url = await mem0((res) => res.end());
  await new Promise((r) => server!.close(r));
  server = undefined;
  expect(await storeRetrospective({ config: config({ MEM0_API_URL: url }) }, retro)).toEqual({ stored: 'local' });
  expect(await storeRetrospective({ config: config({}) }, { ...retro, workerId: 'WORKER_034', outcome: 'guide', provider: null })).toEqual({ stored: 'local' });
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

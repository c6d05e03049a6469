// Secrets never reach Temporal: after a real batch (run through the CLI with distinctive API
// keys, some of them echoed back by a careless provider in error messages), the full history of
// the batch and of every child, their memo, search attributes and summaries hold neither key,
// not as text and not base64-encoded, and no single payload is larger than a few KB.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { cliEnv, runCli } from '../support/cli.js';
import { writeInstructions } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { startMem0StandIn, type Mem0StandIn } from '../support/mem0-standin.js';
import { startTestServer } from '../support/temporal.js';
import { waitFor } from '../support/wait.js';
import type { Payload } from '@temporalio/common';
import { decompressPayload, isCompressed } from '../../src/temporal/codec.js';

// Not shaped like `sk-…`, so only the configured-secret redaction can hide them.
const OPENAI_KEY = 'openai-HISTORY-KEY-7f3a9c2e5b1d4e8f';
const MEM0_KEY = 'mem0-HISTORY-KEY-0c9d8e7f6a5b4c3d';
const MAX_PAYLOAD_BYTES = 8 * 1024;

let server: TestWorkflowEnvironment;
let llm: LlmStandIn;
let mem0: Mem0StandIn;

beforeAll(async () => {
  server = await startTestServer();
  // The stand-ins insist on the keys: the batch below could not pass without them being used.
  llm = await startLlmStandIn({ apiKey: OPENAI_KEY });
  mem0 = await startMem0StandIn({ apiKey: MEM0_KEY });
});
afterAll(async () => {
  await mem0?.close();
  await llm?.close();
  await server?.teardown();
});

/** Cores of the base64 encoding of `secret` at each of the three alignments it can have inside a longer text. */
function base64Forms(secret: string): string[] {
  return [0, 1, 2].map((k) => {
    const b64 = Buffer.from('x'.repeat(k) + secret).toString('base64');
    return b64.slice(k === 0 ? 0 : 4, -4);
  });
}

interface Found {
  texts: string[];
  payloads: Array<{ where: string; bytes: number }>;
}

/** Every string in a protobuf object, with byte fields decoded as UTF-8; every Payload's size. */
function collect(value: unknown, where: string, found: Found, seen = new Set<unknown>()): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') {
    found.texts.push(value);
    return;
  }
  if (value instanceof Uint8Array) {
    const text = Buffer.from(value).toString('utf8');
    found.texts.push(text);
    // A JSON payload may itself carry base64 (bytes in JSON): decode what looks like it.
    for (const m of text.match(/[A-Za-z0-9+/]{16,}={0,2}/g) ?? [])
      found.texts.push(Buffer.from(m, 'base64').toString('utf8'));
    return;
  }
  if (typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  const obj = value as Record<string, unknown>;
  if (
    obj.data instanceof Uint8Array &&
    (obj.metadata === undefined || obj.metadata === null || typeof obj.metadata === 'object')
  ) {
    found.payloads.push({ where, bytes: obj.data.length });
    // Compressed by the payload codec: look inside.
    if (isCompressed(obj as Payload)) return collect(decompressPayload(obj as Payload).data, where, found, seen);
  }
  for (const [k, v] of Object.entries(obj)) collect(v, `${where}.${k}`, found, seen);
}

function leaks(texts: string[]): string[] {
  const needles = [OPENAI_KEY, MEM0_KEY, ...base64Forms(OPENAI_KEY), ...base64Forms(MEM0_KEY)];
  const out: string[] = [];
  for (const t of texts)
    for (const n of needles)
      if (t.includes(n)) out.push(`${n} in ${t.slice(Math.max(0, t.indexOf(n) - 80), t.indexOf(n) + n.length + 80)}`);
  return out;
}

describe('a finished batch', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-history-'));
  const workspace = path.join(root, 'workspace');
  const batchId = `history-${Date.now()}`;
  const ids = ['WORKER_981', 'WORKER_982', 'WORKER_983', 'WORKER_984', 'WORKER_985'];
  let report: Report;
  const executions: Array<{ workflowId: string; runId: string }> = [];

  beforeAll(async () => {
    mkdirSync(path.join(workspace, 'wingman/tests'), { recursive: true });
    // WORKER_985's test prints its whole environment and fails the first time: its output
    // goes into the retry prompt and, summarised, into the history.
    writeFileSync(
      path.join(workspace, 'wingman/tests/test_env985.py'),
      [
        'import os',
        'from hist.w985 import value',
        '',
        'def test_env():',
        "    print('ENVIRONMENT', dict(os.environ))",
        "    mark = os.path.join(os.path.dirname(__file__), 'seen985')",
        '    first = not os.path.exists(mark)',
        "    open(mark, 'a').close()",
        "    assert not first, 'ENVIRONMENT DUMPED: ' + repr(dict(os.environ))",
        '    assert value() == 985',
        '',
      ].join('\n'),
    );
    writeInstructions(path.join(root, 'workers'), [
      { id: 'WORKER_981', files: ['wingman/hist/w981.py'] },
      { id: 'WORKER_982', files: ['wingman/hist/w982.py'] },
      { id: 'WORKER_983', files: ['wingman/hist/w983.py'] },
      { id: 'WORKER_984', files: ['wingman/hist/w984.py'] },
      { id: 'WORKER_985', files: ['wingman/hist/w985.py'], test: 'pytest tests/test_env985.py -q' },
    ]);
    const code = (n: number) => `def value() -> int:\n    return ${n}\n`;
    llm.script('WORKER_981', [{ code: code(981) }]);
    // A 401 whose message echoes the key the client sent (the stand-in does, like a careless proxy).
    llm.script('WORKER_982', [{ status: 401 }], { provider: 'openai' });
    llm.script('WORKER_982', [{ code: code(982) }], { provider: 'ollama' });
    // A 5xx whose body quotes the key and the bearer header, twice, then the answer.
    llm.script(
      'WORKER_983',
      [
        { status: 500, message: `upstream rejected api_key=${OPENAI_KEY} (Authorization: Bearer ${OPENAI_KEY})` },
        { code: code(983) },
      ],
      { provider: 'openai' },
    );
    llm.script('WORKER_984', [
      { guide: 'Step 1: You should create the file.\nStep 2: Here is how you could do it.\nTODO: write it.' },
      { code: code(984) },
    ]);
    llm.script('WORKER_985', [{ code: code(985) }]);

    const r = await runCli(
      'starter',
      [
        '--workers',
        path.join(root, 'workers'),
        '--workspace',
        workspace,
        '--python-root',
        'wingman',
        '--batch-id',
        batchId,
      ],
      {
        cwd: root,
        env: cliEnv({
          TEMPORAL_ADDRESS: server.address,
          OPENAI_API_KEY: OPENAI_KEY,
          OPENAI_BASE_URL: llm.openaiBaseUrl,
          OLLAMA_HOST: llm.url,
          MEM0_API_URL: mem0.url,
          MEM0_API_KEY: MEM0_KEY,
          WINGMAN_STATE_DIR: path.join(root, 'state'),
          WINGMAN_LLM_MAX_ATTEMPTS: '2',
          WINGMAN_LLM_RETRY_INITIAL_MS: '100',
          WINGMAN_LLM_RETRY_MAX_MS: '200',
        }),
      },
    );
    expect({ code: r.exitCode, out: `${r.stdout}\n${r.stderr}`.slice(-4000) }).toMatchObject({ code: 0 });
    report = JSON.parse(readFileSync(path.join(root, 'results', batchId, 'report.json'), 'utf8')) as Report;

    // The batch and its children, by search attribute (visibility lags a little behind).
    const query = `WingmanBatchId = "${batchId}"`;
    await waitFor(
      async () => {
        executions.length = 0;
        for await (const w of server.client.workflow.list({ query }))
          executions.push({ workflowId: w.workflowId, runId: w.runId });
        return executions.length >= ids.length + 1;
      },
      { timeoutMs: 60_000, what: `${ids.length + 1} executions listed for ${query}` },
    );
  }, 600_000);

  test('the keys were in use: every worker passed, the stand-ins saw them', () => {
    expect(report.counts.passed).toBe(ids.length);
    expect(
      llm.calls.filter((c) => c.provider === 'openai').every((c) => c.authorization === `Bearer ${OPENAI_KEY}`),
    ).toBe(true);
    expect(mem0.calls.filter((c) => c.path === '/memories').map((c) => [c.apiKey, c.status])).toEqual(
      ids.map(() => [MEM0_KEY, 200]),
    );
    // The careless provider did echo the key, and the environment dump did run.
    expect(llm.callsFor('WORKER_982').map((c) => [c.provider, c.status])).toEqual([
      ['openai', 401],
      ['ollama', 200],
    ]);
    expect(llm.callsFor('WORKER_985')[1]!.prompt).toContain('ENVIRONMENT DUMPED');
  });

  test('the list found the batch workflow and one child per worker', () => {
    const workflowIds = executions.map((e) => e.workflowId).sort();
    expect(workflowIds).toEqual([`batch-${batchId}`, ...ids.map((id) => `batch-${batchId}/${id}`)].sort());
  });

  test('no history holds a key (as text or base64), and no payload is larger than 8 KB', async () => {
    const all: Found = { texts: [], payloads: [] };
    let events = 0;
    for (const e of executions) {
      const history = await server.client.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
      events += history.events?.length ?? 0;
      for (const ev of history.events ?? []) {
        const found: Found = { texts: [], payloads: [] };
        collect(ev, `${e.workflowId}#${String(ev.eventId)}`, found);
        all.texts.push(...found.texts);
        all.payloads.push(...found.payloads);
      }
    }
    expect(events).toBeGreaterThan(50);
    // Sanity: the walk does see decoded payloads and failure messages.
    expect(all.texts.some((t) => t.includes('WORKER_983'))).toBe(true);
    expect(all.texts.some((t) => /HTTP 401/.test(t))).toBe(true);
    expect(all.texts.some((t) => /upstream rejected/.test(t))).toBe(true);
    expect(all.payloads.length).toBeGreaterThan(20);

    expect(leaks(all.texts)).toEqual([]);
    const big = all.payloads.filter((p) => p.bytes > MAX_PAYLOAD_BYTES);
    expect(big).toEqual([]);
  });

  test('memo, search attributes, summaries and details of every execution hold no key', async () => {
    for (const e of executions) {
      const d = await server.client.workflow.getHandle(e.workflowId, e.runId).describe();
      const found: Found = { texts: [], payloads: [] };
      collect(d.raw, e.workflowId, found);
      collect(d.memo, e.workflowId, found);
      collect(d.searchAttributes, e.workflowId, found);
      collect(JSON.parse(JSON.stringify(d.typedSearchAttributes)), e.workflowId, found);
      expect({ workflowId: e.workflowId, leaks: leaks(found.texts) }).toEqual({ workflowId: e.workflowId, leaks: [] });
      expect(found.texts.some((t) => t.includes(batchId))).toBe(true);
    }
  });

  test('the report and the per-worker results written next to it hold no key either', () => {
    const dir = path.join(root, 'results', batchId);
    const files = [
      path.join(dir, 'report.json'),
      ...readdirSync(path.join(dir, 'workers')).map((f) => path.join(dir, 'workers', f)),
    ];
    expect(leaks(files.map((f) => readFileSync(f, 'utf8')))).toEqual([]);
  });
});

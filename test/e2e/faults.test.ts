// Provider faults, hostile LLM output, a dead mem0 and the abort guards, through the real CLI
// with a short LLM policy: a real dev server, the real openai SDK and undici against the
// stand-in, real files and real pytest.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { cliEnv, runCli, type CliResult } from '../support/cli.js';
import { freePort } from '../support/dev-server-process.js';
import { writeInstructions, type InstructionSpec } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn, type StandInCall } from '../support/llm-standin.js';
import { startMem0StandIn, type Mem0StandIn } from '../support/mem0-standin.js';
import { startTestServer } from '../support/temporal.js';

let server: TestWorkflowEnvironment;
let llm: LlmStandIn;
let mem0: Mem0StandIn;

beforeAll(async () => {
  server = await startTestServer();
  llm = await startLlmStandIn();
  mem0 = await startMem0StandIn({ apiKey: 'mem0-test-faults-key' });
});
afterAll(async () => {
  await mem0?.close();
  await llm?.close();
  await server?.teardown();
});

/** The LLM policy of these tests: short, so faults play out in seconds. */
const POLICY = {
  WINGMAN_LLM_MAX_ATTEMPTS: '2',
  WINGMAN_LLM_RETRY_INITIAL_MS: '100',
  WINGMAN_LLM_RETRY_MAX_MS: '200',
  WINGMAN_LLM_TIMEOUT_MS: '5000',
  WINGMAN_LLM_HEARTBEAT_MS: '2000',
};

function setup() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-faults-'));
  const workspace = path.join(root, 'workspace');
  mkdirSync(path.join(workspace, 'wingman'), { recursive: true });
  return { root, workspace, workers: path.join(root, 'workers'), state: path.join(root, 'state') };
}
type Dirs = ReturnType<typeof setup>;

function env(dirs: Dirs, extra: Record<string, string | undefined> = {}) {
  return cliEnv({
    TEMPORAL_ADDRESS: server.address,
    OPENAI_API_KEY: 'sk-test-faults-not-a-real-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    OPENAI_MODEL: 'gpt-4o-mini',
    OLLAMA_HOST: llm.url,
    WINGMAN_STATE_DIR: dirs.state,
    ...POLICY,
    ...extra,
  });
}

async function runBatch(
  dirs: Dirs,
  specs: InstructionSpec[],
  batchId: string,
  extraArgs: string[] = [],
  extraEnv: Record<string, string | undefined> = {},
) {
  writeInstructions(dirs.workers, specs);
  const r = await runCli(
    'starter',
    [
      '--workers',
      dirs.workers,
      '--workspace',
      dirs.workspace,
      '--python-root',
      'wingman',
      '--batch-id',
      batchId,
      ...extraArgs,
    ],
    {
      cwd: dirs.root,
      env: env(dirs, extraEnv),
    },
  );
  const reportFile = path.join(dirs.root, 'results', batchId, 'report.json');
  const report = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as Report) : undefined;
  return { r, report };
}

const out = (r: CliResult) => `${r.stdout}\n${r.stderr}`.slice(-5000);
const worker = (report: Report, id: string) => report.workers.find((w) => w.id === id)!;
const by = (id: string, provider: StandInCall['provider']) => llm.callsFor(id).filter((c) => c.provider === provider);
const code = (id: string) => `def value() -> str:\n    return ${JSON.stringify(id)}\n`;

describe('provider faults and bad output, mem0 answering 500', () => {
  const dirs = setup();
  const file = (id: string) => `wingman/faults/w${id.slice(7)}.py`;
  const specs: InstructionSpec[] = Array.from({ length: 10 }, (_, i) => `WORKER_${801 + i}`).map((id) => ({
    id,
    files: [file(id)],
  }));
  const GUIDE_ONLY =
    'I am unable to produce this file. Please consult the documentation of the framework and write it by hand.';
  let report: Report;
  let result: CliResult;

  beforeAll(async () => {
    llm.script('WORKER_801', [{ status: 429, retryAfter: 2 }, { code: code('WORKER_801') }], { provider: 'openai' });
    llm.script('WORKER_802', [{ status: 401 }], { provider: 'openai' });
    llm.script('WORKER_803', [{ status: 400 }], { provider: 'openai' });
    llm.script('WORKER_804', [{ status: 404 }], { provider: 'openai' });
    for (const id of ['WORKER_802', 'WORKER_803', 'WORKER_804', 'WORKER_805'])
      llm.script(id, [{ code: code(id) }], { provider: 'ollama' });
    llm.script('WORKER_805', [{ hang: true }], { provider: 'openai' });
    llm.script('WORKER_806', [{ hang: true }]);
    // Longer than the 2 s heartbeat timeout, shorter than the 5 s call timeout.
    llm.script('WORKER_807', [{ code: code('WORKER_807'), delayMs: 3500 }]);
    llm.script('WORKER_808', [{ text: '' }]);
    llm.script('WORKER_809', [{ code: `X = 1\n${'# padding to push the answer past one megabyte\n'.repeat(25_000)}` }]);
    llm.script('WORKER_810', [{ text: GUIDE_ONLY }]);
    mem0.script([{ status: 500, detail: 'mem0 is down' }]);
    const run = await runBatch(dirs, specs, `faults-${Date.now()}`, ['--min-sample', '100'], {
      MEM0_API_URL: mem0.url,
      MEM0_API_KEY: 'mem0-test-faults-key',
    });
    result = run.r;
    report = run.report!;
    expect({ code: result.exitCode, report: !!report, out: out(result) }).toMatchObject({ code: 1, report: true });
  }, 600_000);

  test('the batch completes with every worker accounted for', () => {
    expect(report.status).toBe('completed');
    expect(report.counts).toEqual({ passed: 6, failed: 0, guide: 1, llm_timeout: 1, error: 2, skipped: 0 });
  });

  test('429 with Retry-After: 2 waits that long before the next call (nextRetryDelay), then passes', () => {
    expect(worker(report, 'WORKER_801')).toMatchObject({ outcome: 'passed', provider: 'openai', attempts: 1 });
    const calls = by('WORKER_801', 'openai');
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    // The retry policy's own backoff is 100 ms: a gap of about 2 s is the server's Retry-After.
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(1900);
    expect(by('WORKER_801', 'ollama')).toHaveLength(0);
  });

  test.each([
    ['WORKER_802', 401],
    ['WORKER_803', 400],
    ['WORKER_804', 404],
  ])('%s: HTTP %i from OpenAI is not retried and goes straight to Ollama', (id, status) => {
    expect(worker(report, id)).toMatchObject({ outcome: 'passed', provider: 'ollama', attempts: 2 });
    expect(by(id, 'openai').map((c) => c.status)).toEqual([status]);
    expect(by(id, 'ollama').map((c) => c.status)).toEqual([200]);
    expect(worker(report, id).model).toBe('qwen2.5-coder:7b');
  });

  test('a hung OpenAI call is cut off at the call timeout and Ollama answers at once', () => {
    // A timeout is not retried on the same provider.
    const w = worker(report, 'WORKER_805');
    expect(w).toMatchObject({ outcome: 'passed', provider: 'ollama', attempts: 2 });
    const openai = by('WORKER_805', 'openai');
    expect(openai).toHaveLength(1); // not WINGMAN_LLM_MAX_ATTEMPTS (2)
    expect(openai.every((c) => c.status === 0 && c.aborted)).toBe(true);
    expect(by('WORKER_805', 'ollama').map((c) => c.status)).toEqual([200]);
    expect(w.failures).toEqual([
      { attempt: 1, kind: 'llm', message: expect.stringMatching(/^openai: .*(timeout|no answer)/) },
    ]);
    expect(w.changes).toBe('ollama answered after 1 failed LLM call; tests passed');
  });

  test('with both providers hung the chain gets one more round, then the worker ends llm_timeout', () => {
    // Nothing is written.
    const w = worker(report, 'WORKER_806');
    expect(w).toMatchObject({ outcome: 'llm_timeout', provider: null, files: [], attempts: 4 });
    expect(w.failures.map((f) => [f.attempt, f.kind])).toEqual([
      [1, 'llm'],
      [2, 'llm'],
      [3, 'llm'],
      [4, 'llm'],
    ]);
    expect(llm.callsFor('WORKER_806').map((c) => c.provider)).toEqual(['openai', 'ollama', 'openai', 'ollama']);
    expect(w.error).toMatch(/openai/);
    expect(w.error).toMatch(/ollama/);
    expect(by('WORKER_806', 'openai')).toHaveLength(2);
    expect(by('WORKER_806', 'ollama')).toHaveLength(2);
    expect(llm.callsFor('WORKER_806').every((c) => c.aborted && c.status === 0)).toBe(true);
    expect(existsSync(path.join(dirs.workspace, file('WORKER_806')))).toBe(false);
  });

  test('a generation slower than the heartbeat timeout passes on the first call: the activity heartbeats', () => {
    // The generation stays within the call timeout; the activity heartbeats while it waits.
    expect(worker(report, 'WORKER_807')).toMatchObject({ outcome: 'passed', provider: 'openai', attempts: 1 });
    expect(llm.callsFor('WORKER_807').map((c) => [c.provider, c.status, c.aborted])).toEqual([['openai', 200, false]]);
    expect(readFileSync(path.join(dirs.workspace, file('WORKER_807')), 'utf8')).toBe(code('WORKER_807'));
  });

  test('an empty answer is bad output: not retried on the same provider, falls back, ends error', () => {
    // Nothing is written.
    const w = worker(report, 'WORKER_808');
    expect(w).toMatchObject({ outcome: 'error', files: [] });
    expect(w.error).toMatch(/empty/);
    expect(llm.callsFor('WORKER_808').map((c) => [c.provider, c.status])).toEqual([
      ['openai', 200],
      ['ollama', 200],
    ]);
    expect(existsSync(path.join(dirs.workspace, file('WORKER_808')))).toBe(false);
  });

  test('an answer over 1 MB is refused: ends error, nothing written', () => {
    const w = worker(report, 'WORKER_809');
    expect(w).toMatchObject({ outcome: 'error', files: [] });
    expect(w.error).toMatch(/exceeds|over|larger/);
    expect(llm.callsFor('WORKER_809').map((c) => [c.provider, c.status])).toEqual([
      ['openai', 200],
      ['ollama', 200],
    ]);
    expect(existsSync(path.join(dirs.workspace, file('WORKER_809')))).toBe(false);
  });

  test('an answer with no code is a guide: regenerated once with a firmer prompt, ends guide, nothing written', () => {
    const w = worker(report, 'WORKER_810');
    expect(w).toMatchObject({ outcome: 'guide', files: [], attempts: 2 });
    expect(w.error).toMatch(/no code for wingman\/faults\/w810\.py/);
    expect(llm.callsFor('WORKER_810').map((c) => c.status)).toEqual([200, 200]);
    expect(existsSync(path.join(dirs.workspace, file('WORKER_810')))).toBe(false);
  });

  test('only the passing workers wrote files, each with the code it was given', () => {
    for (const id of ['WORKER_801', 'WORKER_802', 'WORKER_803', 'WORKER_804', 'WORKER_805', 'WORKER_807']) {
      expect(readFileSync(path.join(dirs.workspace, file(id)), 'utf8')).toBe(code(id));
    }
    expect(existsSync(path.join(dirs.state, 'previous'))).toBe(false);
  });

  test('mem0 answering 500 fails no worker: every retrospective is kept in memory.jsonl instead', () => {
    const posts = mem0.calls.filter((c) => c.method === 'POST' && c.path === '/memories');
    expect(posts.length).toBeGreaterThanOrEqual(10);
    expect(posts.every((c) => c.status === 500)).toBe(true);
    const lines = readFileSync(path.join(dirs.state, 'memory.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const byWorker = new Map(lines.map((l) => [l.workerId, l]));
    for (const w of report.workers) {
      expect(byWorker.get(w.id)).toMatchObject({ workerId: w.id, outcome: w.outcome });
      expect(String(byWorker.get(w.id)!.mem0Error)).toMatch(/500/);
    }
  });
});

describe('mem0', () => {
  test('up: each retrospective is POSTed to /memories (user id, metadata, API key); none kept locally', async () => {
    const dirs = setup();
    const before = mem0.calls.length;
    mem0.script([{ ok: true }]);
    const ids = ['WORKER_851', 'WORKER_852'];
    for (const id of ids) llm.script(id, [{ code: code(id) }]);
    const batchId = `mem0-up-${Date.now()}`;
    const { r, report } = await runBatch(
      dirs,
      ids.map((id) => ({ id, files: [`wingman/mem/w${id.slice(7)}.py`] })),
      batchId,
      [],
      {
        MEM0_API_URL: mem0.url,
        MEM0_API_KEY: 'mem0-test-faults-key',
        MEM0_USER_ID: 'wingman-faults',
      },
    );
    expect({ code: r.exitCode, out: out(r) }).toMatchObject({ code: 0 });
    expect(report!.counts.passed).toBe(2);
    const posts = mem0.calls.slice(before).filter((c) => c.method === 'POST' && c.path === '/memories');
    expect(posts).toHaveLength(2);
    for (const id of ids) {
      const call = posts.find((c) => (c.body as { metadata?: { workerId?: string } }).metadata?.workerId === id)!;
      expect(call).toBeDefined();
      expect(call.status).toBe(200);
      expect(call.apiKey).toBe('mem0-test-faults-key');
      expect(call.body).toMatchObject({
        user_id: 'wingman-faults',
        messages: [{ role: 'user', content: expect.stringContaining(id) }],
        metadata: { batchId, workerId: id, outcome: 'passed', provider: 'openai' },
      });
    }
    expect(existsSync(path.join(dirs.state, 'memory.jsonl'))).toBe(false);
  }, 300_000);

  test('nothing listening at MEM0_API_URL: the worker passes and its retrospective is in memory.jsonl', async () => {
    const dirs = setup();
    llm.script('WORKER_861', [{ code: code('WORKER_861') }]);
    const { r, report } = await runBatch(
      dirs,
      [{ id: 'WORKER_861', files: ['wingman/mem/w861.py'] }],
      `mem0-down-${Date.now()}`,
      [],
      {
        MEM0_API_URL: `http://127.0.0.1:${await freePort()}`,
      },
    );
    expect({ code: r.exitCode, out: out(r) }).toMatchObject({ code: 0 });
    expect(worker(report!, 'WORKER_861').outcome).toBe('passed');
    const lines = readFileSync(path.join(dirs.state, 'memory.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ workerId: 'WORKER_861', outcome: 'passed', files: ['wingman/mem/w861.py'] });
    expect(lines[0]!.mem0Error).toBeTruthy();
  }, 300_000);
});

describe('abort guards', () => {
  test('too many guides (4 of 12 workers, --min-sample 5) → exit 2, aborted, the rest skipped', async () => {
    // 4 of the 12 workers only ever write guides.
    const dirs = setup();
    const ids = Array.from({ length: 12 }, (_, i) => `WORKER_${871 + i}`);
    const guides = ids.slice(0, 4);
    const guide =
      'Step 1: Create the module.\nStep 2: You should add the function.\nHere is how you could do it:\n' +
      '```python\ndef f():\n    pass  # TODO\n```\nTODO: finish this.';
    for (const id of ids) llm.script(id, guides.includes(id) ? [{ guide }] : [{ code: code(id) }]);
    const { r, report } = await runBatch(
      dirs,
      ids.map((id) => ({ id, files: [`wingman/abort/w${id.slice(7)}.py`] })),
      `abort-guides-${Date.now()}`,
      ['--min-sample', '5', '--concurrency', '3'],
    );
    expect({ code: r.exitCode, out: out(r) }).toMatchObject({ code: 2 });
    expect(report!.status).toBe('aborted');
    expect(report!.abortReason).toMatch(/guide/);
    const total = Object.values(report!.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(12);
    expect(report!.workers).toHaveLength(12);
    expect(report!.counts.guide).toBeGreaterThanOrEqual(1);
    expect(report!.counts.skipped).toBeGreaterThanOrEqual(1);
    // Fewer than all finished: the abort stopped the batch early.
    expect(report!.counts.passed).toBeLessThan(8);
    // A worker skipped before it started never called the LLM and wrote nothing.
    const notStarted = report!.workers.filter((x) => x.outcome === 'skipped' && /^not started/.test(x.error ?? ''));
    expect(notStarted.length).toBeGreaterThanOrEqual(1);
    for (const w of notStarted) {
      expect({ id: w.id, calls: llm.callsFor(w.id).length }).toEqual({ id: w.id, calls: 0 });
      expect(existsSync(path.join(dirs.workspace, `wingman/abort/w${w.id.slice(7)}.py`))).toBe(false);
    }
    expect(
      report!.workers
        .filter((x) => x.outcome === 'skipped')
        .every((w) => typeof w.error === 'string' && /guide/.test(w.error)),
    ).toBe(true);
  }, 300_000);

  test('budget: --budget 0.00001 with a priced model → exit 2, aborted before any call', async () => {
    // Aborted for the budget: no reservation fits.
    const dirs = setup();
    const ids = ['WORKER_891', 'WORKER_892', 'WORKER_893', 'WORKER_894'];
    for (const id of ids) llm.script(id, [{ code: code(id) }]);
    const { r, report } = await runBatch(
      dirs,
      ids.map((id) => ({ id, files: [`wingman/budget/w${id.slice(7)}.py`] })),
      `abort-budget-${Date.now()}`,
      ['--budget', '0.00001', '--concurrency', '1'],
    );
    expect({ code: r.exitCode, out: out(r) }).toMatchObject({ code: 2 });
    expect(report!.status).toBe('aborted');
    expect(report!.abortReason).toMatch(/budget/);
    expect(report!.abortReason).toMatch(/needs a reservation/);
    expect(report!.costUsd).toBe(0);
    expect(report!.counts).toMatchObject({ passed: 0, skipped: 4 });
    expect(ids.map((id) => llm.callsFor(id).length)).toEqual([0, 0, 0, 0]);
  }, 300_000);
});

describe('hostile output', () => {
  test('a symlink out of the workspace planted by generated code is not written through', async () => {
    // And a block naming a path outside the workspace is ignored.
    const dirs = setup();
    const outside = path.join(dirs.root, 'outside');
    mkdirSync(outside);
    const sentinel = path.join(outside, 'target.py');
    writeFileSync(sentinel, 'SENTINEL = "untouched"\n');
    // WORKER_901's generated test, run by real pytest, plants a link from a later worker's
    // deliverable to a file outside the workspace.
    const plant = [
      'import os',
      '',
      'def test_plant():',
      "    os.makedirs('hostile', exist_ok=True)",
      `    os.symlink(${JSON.stringify(sentinel)}, os.path.join('hostile', 'target.py'))`,
      '',
    ].join('\n');
    llm.script('WORKER_901', [{ code: plant }]);
    llm.script('WORKER_902', [{ code: 'OVERWRITTEN = True\n' }]);
    // An answer with an extra block for a file outside the workspace, next to the real one.
    llm.script('WORKER_903', [
      {
        text:
          '```python path=../../outside/escape.py\nESCAPED = True\n```\n\n' +
          `\`\`\`python path=wingman/hostile/safe.py\n${code('WORKER_903')}\`\`\`\n`,
      },
    ]);
    const { r, report } = await runBatch(
      dirs,
      [
        { id: 'WORKER_901', files: ['wingman/tests/test_plant901.py'], test: 'pytest tests/test_plant901.py -q' },
        { id: 'WORKER_902', files: ['wingman/hostile/target.py'], dependsOn: ['WORKER_901'] },
        { id: 'WORKER_903', files: ['wingman/hostile/safe.py'] },
      ],
      `hostile-${Date.now()}`,
    );
    expect({ code: r.exitCode, out: out(r) }).toMatchObject({ code: 1 });
    expect(worker(report!, 'WORKER_901').outcome).toBe('passed');
    const w902 = worker(report!, 'WORKER_902');
    expect(w902).toMatchObject({ outcome: 'error', files: [] });
    expect(w902.error).toMatch(/symlink|leaves the workspace/);
    expect(readFileSync(sentinel, 'utf8')).toBe('SENTINEL = "untouched"\n');
    expect(readdirSync(outside)).toEqual(['target.py']);
    expect(worker(report!, 'WORKER_903')).toMatchObject({ outcome: 'passed', files: ['wingman/hostile/safe.py'] });
    expect(readFileSync(path.join(dirs.workspace, 'wingman/hostile/safe.py'), 'utf8')).toBe(code('WORKER_903'));
    expect(existsSync(path.join(dirs.root, 'outside', 'escape.py'))).toBe(false);
    expect(existsSync(path.join(dirs.workspace, 'outside'))).toBe(false);
  }, 300_000);
});

// Workers on two "machines" that share nothing but Temporal: one worker process serves the
// workflows and the workspace, another only `llm-openai`, each with its own WINGMAN_STATE_DIR,
// and the batch is started with --no-worker. Prompts, answers and test logs travel through
// Temporal, so the batch ends as the same batch does on one machine. A claim check that the
// other machine cannot read fails by name (ArtifactMissing), without falling back to another
// provider, and start-batch refuses what it can tell cannot work.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Payload } from '@temporalio/common';
import type { Report } from '../../src/schemas.js';
import { COMPRESSED_ENCODING, CompressionCodec } from '../../src/temporal/codec.js';
import { cliEnv, runCli, type CliResult } from '../support/cli.js';
import { writeInstructions, type InstructionSpec } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { killAllGroups, spawnCli, type GroupProcess } from '../support/process-group.js';
import { startTestServer } from '../support/temporal.js';

let server: TestWorkflowEnvironment;
let llm: LlmStandIn;

beforeAll(async () => {
  server = await startTestServer();
  llm = await startLlmStandIn();
});
afterAll(async () => {
  await killAllGroups();
  await llm?.close();
  await server?.teardown();
});

/** Short retries, so 500s and 429s play out in seconds. */
const POLICY = {
  WINGMAN_LLM_MAX_ATTEMPTS: '3',
  WINGMAN_LLM_RETRY_INITIAL_MS: '100',
  WINGMAN_LLM_RETRY_MAX_MS: '200',
  WINGMAN_LLM_TIMEOUT_MS: '10000',
  WINGMAN_LLM_HEARTBEAT_MS: '5000',
};

function dirs(name: string) {
  const root = mkdtempSync(path.join(os.tmpdir(), `wingman-2m-${name}-`));
  const workspace = path.join(root, 'workspace');
  mkdirSync(path.join(workspace, 'wingman'), { recursive: true });
  return { root, workspace, workers: path.join(root, 'workers') };
}
type Dirs = ReturnType<typeof dirs>;

/**
 * One machine's environment: its own state directory, the scenario's own workflow and workspace
 * queues (the LLM queues' names are fixed), the OpenAI settings only where they are needed.
 */
function machineEnv(scenario: string, stateDir: string, extra: Record<string, string | undefined> = {}) {
  const queues = { TEMPORAL_TASK_QUEUE: `wingman-${scenario}`, WINGMAN_WORKSPACE_QUEUE: `workspace-${scenario}` };
  return cliEnv({ TEMPORAL_ADDRESS: server.address, WINGMAN_STATE_DIR: stateDir, ...queues, ...POLICY, ...extra });
}
const openai = () => ({
  OPENAI_API_KEY: 'sk-test-two-machines',
  OPENAI_BASE_URL: llm.openaiBaseUrl,
  OPENAI_MODEL: 'gpt-4o-mini',
});

async function startBatch(d: Dirs, batchId: string, env: Record<string, string>, extraArgs: string[] = []) {
  const r = await runCli(
    'starter',
    [
      '--workers',
      d.workers,
      '--workspace',
      d.workspace,
      '--python-root',
      'wingman',
      '--batch-id',
      batchId,
      '--min-sample',
      '100',
      ...extraArgs,
    ],
    {
      cwd: d.root,
      env,
    },
  );
  const file = path.join(d.root, 'results', batchId, 'report.json');
  return { r, report: existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Report) : undefined };
}

async function startWorker(queues: string, env: Record<string, string>, cwd: string): Promise<GroupProcess> {
  const p = spawnCli('worker', ['--queues', queues], { cwd, env });
  await p.waitForOutput(/worker polling/, 180_000);
  return p;
}

const out = (r: CliResult) => `${r.stdout}\n${r.stderr}`.slice(-5000);
const code = (id: string) => `def value() -> str:\n    return ${JSON.stringify(id)}\n`;
/** Outcome, provider, attempts and tests of each worker: what must not depend on where the workers run. */
const outcomes = (report: Report) =>
  Object.fromEntries(
    report.workers.map((w) => [
      w.id,
      { outcome: w.outcome, provider: w.provider, attempts: w.attempts, tests: w.tests, files: w.files },
    ]),
  );

describe('two machines that share nothing but Temporal end a batch as one machine does', () => {
  // 6 workers: a chain of dependencies, a 500 and a 429 retried, tests that fail twice (the second
  // prompt carries the first test log), and a dependent of the failure that is skipped.
  const specs = (prefix: number): InstructionSpec[] => {
    const id = (n: number) => `WORKER_${prefix + n}`;
    const file = (n: number) => `wingman/two/w${prefix + n}.py`;
    return [
      { id: id(1), files: [file(1)] },
      { id: id(2), files: [file(2)], dependsOn: [id(1)] },
      { id: id(3), files: [file(3)], dependsOn: [id(2)] },
      { id: id(4), files: [file(4)] },
      { id: id(5), files: [file(5), `wingman/two/test_w${prefix + 5}.py`], test: `pytest two/test_w${prefix + 5}.py` },
      { id: id(6), files: [file(6)], dependsOn: [id(5)] },
    ];
  };
  function script(prefix: number) {
    const id = (n: number) => `WORKER_${prefix + n}`;
    llm.script(id(1), [{ code: code(id(1)) }]);
    llm.script(id(2), [{ status: 500 }, { code: code(id(2)) }]);
    llm.script(id(3), [{ code: code(id(3)) }]);
    llm.script(id(4), [{ status: 429, retryAfter: 1 }, { status: 500 }, { code: code(id(4)) }]);
    const failing = {
      files: {
        [`wingman/two/w${prefix + 5}.py`]: 'def answer() -> int:\n    return 41\n',
        [`wingman/two/test_w${prefix + 5}.py`]:
          `from two.w${prefix + 5} import answer\n\n\n` +
          'def test_answer():\n    assert answer() == 42, "the answer is 42"\n',
      },
    };
    llm.script(id(5), [failing, failing]);
    llm.script(id(6), [{ code: code(id(6)) }]);
  }

  let one: { r: CliResult; report?: Report };
  let two: { r: CliResult; report?: Report };
  let workspaceHost: GroupProcess;
  let llmHost: GroupProcess;
  const d2 = dirs('two');

  beforeAll(async () => {
    // One machine: start-batch runs its own worker, every role in one process.
    const d1 = dirs('one');
    writeInstructions(d1.workers, specs(900));
    script(900);
    one = await startBatch(d1, `one-${Date.now()}`, machineEnv('one', path.join(d1.root, 'state'), openai()));
    expect({ code: one.r.exitCode, report: !!one.report, out: out(one.r) }).toMatchObject({ code: 1, report: true });

    // Two machines: the workspace host has no OpenAI settings, the LLM host no workspace.
    writeInstructions(d2.workers, specs(920));
    script(920);
    workspaceHost = await startWorker(
      'wingman-two,workspace-two',
      machineEnv('two', path.join(d2.root, 'state-workspace-host')),
      d2.root,
    );
    llmHost = await startWorker(
      'llm-openai',
      machineEnv('two', path.join(d2.root, 'state-llm-host'), openai()),
      d2.root,
    );
    two = await startBatch(
      d2,
      `two-${Date.now()}`,
      machineEnv('two', path.join(d2.root, 'state-workspace-host'), openai()),
      ['--no-worker'],
    );
    expect({ code: two.r.exitCode, report: !!two.report, out: out(two.r) }).toMatchObject({ code: 1, report: true });
  }, 600_000);

  afterAll(async () => {
    await workspaceHost?.killGroup('SIGINT');
    await llmHost?.killGroup('SIGINT');
  });

  test('the same outcomes, providers, attempts and test counts per worker', () => {
    const renumber = (o: ReturnType<typeof outcomes>) =>
      Object.fromEntries(
        Object.entries(o).map(([id, v]) => [
          Number(id.slice(7)) % 20,
          { ...v, files: v.files.map((f) => f.replace(/\d+/g, 'N')) },
        ]),
      );
    expect(renumber(outcomes(two.report!))).toEqual(renumber(outcomes(one.report!)));
    expect(two.report!.counts).toEqual(one.report!.counts);
    expect(two.report!.counts).toEqual({ passed: 4, failed: 1, guide: 0, llm_timeout: 0, error: 0, skipped: 1 });
  });

  test('the 500s and the 429 were retried on OpenAI, on the LLM host', () => {
    expect(llm.callsFor('WORKER_922').map((c) => c.status)).toEqual([500, 200]);
    expect(llm.callsFor('WORKER_924').map((c) => c.status)).toEqual([429, 500, 200]);
    expect(llm.calls.filter((c) => c.workerId?.startsWith('WORKER_92')).every((c) => c.provider === 'openai')).toBe(
      true,
    );
    expect(llmHost.output()).not.toMatch(/ENOENT|ArtifactMissing/);
  });

  test('the retry prompt of the failing worker carries its test log across machines', () => {
    const prompts = llm.callsFor('WORKER_925').map((c) => c.prompt);
    expect(prompts).toHaveLength(2);
    expect(prompts[1]).toContain('Your previous code failed its tests');
    expect(prompts[1]).toContain('the answer is 42');
  });

  test("the batch's own history carries no prompt, answer or test log", async () => {
    // The workers' histories carry them, compressed.
    const texts = async (workflowId: string) => {
      const history = await server.client.workflow.getHandle(workflowId).fetchHistory();
      const payloads: Payload[] = [];
      const walk = (x: unknown): void => {
        if (!x || typeof x !== 'object' || x instanceof Uint8Array) return;
        if ('data' in x && (x as Payload).data instanceof Uint8Array && 'metadata' in x) payloads.push(x as Payload);
        else for (const v of Object.values(x)) walk(v);
      };
      walk(history);
      const decoded = await new CompressionCodec().decode(payloads);
      return { raw: payloads, text: decoded.map((p) => Buffer.from(p.data ?? []).toString('utf8')).join('\n') };
    };
    const batch = await texts(`batch-${two.report!.batchId}`);
    expect(batch.text).toContain('WORKER_925');
    expect(batch.text).not.toContain('# Output format (strict)');
    // Not the code, the test file or its log; a child's result may carry its one-line attempt log.
    expect(batch.text).not.toContain('def test_answer');
    expect(batch.text).not.toContain('def answer');
    const worker = await texts(`batch-${two.report!.batchId}/WORKER_925`);
    expect(worker.text).toContain('# Output format (strict)');
    expect(worker.text).toContain('the answer is 42');
    expect(worker.text).toContain('def test_answer');
    const compressed = worker.raw.filter(
      (p) => Buffer.from(p.metadata?.encoding ?? []).toString() === COMPRESSED_ENCODING,
    );
    expect(compressed.length).toBeGreaterThan(0);
  });

  test('the files are written on the workspace host only; no prompt or answer went through a shared directory', () => {
    expect(readFileSync(path.join(d2.workspace, 'wingman/two/w923.py'), 'utf8')).toBe(code('WORKER_923'));
    const artifacts = (state: string) => {
      const dir = path.join(d2.root, state, 'artifacts');
      return existsSync(dir) ? readdirSync(dir).flatMap((sub) => readdirSync(path.join(dir, sub))) : [];
    };
    const ws = new Set(artifacts('state-workspace-host'));
    const llmSide = artifacts('state-llm-host');
    // The LLM host keeps its answers; the workspace host has each of them too (read from the payloads).
    expect(llmSide.length).toBeGreaterThan(0);
    for (const sha of llmSide) expect(ws.has(sha)).toBe(true);
    expect(existsSync(path.join(d2.root, 'state-workspace-host', 'artifacts'))).toBe(true);
  });
});

describe('a claim check the other machine cannot read', () => {
  // An inline limit above the instructions (~700 bytes) and below their prompts (~2.5 KB): the
  // prompt goes by claim check into the workspace host's own directory.
  const LIMIT = '1500';
  const d = dirs('missing');
  let workspaceHost: GroupProcess;
  let llmHost: GroupProcess;

  beforeAll(async () => {
    // The workspace host also serves Ollama, so a fallback would find a provider that can read the prompt.
    const ollama = { OLLAMA_HOST: llm.url };
    workspaceHost = await startWorker(
      'wingman-missing,workspace-missing,llm-ollama',
      machineEnv('missing', path.join(d.root, 'state-a'), { ...ollama, WINGMAN_BLOB_INLINE_MAX: LIMIT }),
      d.root,
    );
    llmHost = await startWorker(
      'llm-openai',
      machineEnv('missing', path.join(d.root, 'state-b'), { ...openai(), WINGMAN_BLOB_INLINE_MAX: LIMIT }),
      d.root,
    );
  }, 300_000);
  afterAll(async () => {
    await workspaceHost?.killGroup('SIGINT');
    await llmHost?.killGroup('SIGINT');
  });

  test('fails the worker with the named, non-retryable error: one attempt, no fallback, nothing paid', async () => {
    writeInstructions(d.workers, [{ id: 'WORKER_941', files: ['wingman/two/w941.py'] }]);
    llm.script('WORKER_941', [{ code: code('WORKER_941') }]);
    const env = machineEnv('missing', path.join(d.root, 'state-a'), { ...openai(), OLLAMA_HOST: llm.url });
    const { r, report } = await startBatch(d, `missing-${Date.now()}`, env, ['--no-worker']);
    expect({ code: r.exitCode, report: !!report, out: out(r) }).toMatchObject({ code: 1, report: true });
    expect(r.stderr).toMatch(/warning: workers do not share a blob store/);
    const w = report!.workers.find((x) => x.id === 'WORKER_941')!;
    expect(w).toMatchObject({ outcome: 'error', provider: null, attempts: 1, costUsd: 0, files: [] });
    expect(w.error).toMatch(
      new RegExp(
        String.raw`^artifact [0-9a-f]{12}… not found on this worker \(local:[^)]*state-b\/artifacts\): ` +
          'state directories are not shared; configure WINGMAN_BLOB_S3_ENDPOINT',
      ),
    );
    // Neither OpenAI (the prompt never reached it) nor Ollama (no fallback) was called.
    expect(llm.callsFor('WORKER_941')).toEqual([]);
  }, 300_000);

  test('start-batch refuses at start when an instruction is itself over the inline limit', async () => {
    const padded: InstructionSpec = {
      id: 'WORKER_942',
      files: ['wingman/two/w942.py'],
      criteria: Array.from({ length: 40 }, (_, i) => `Criterion ${i}: the module stays importable`),
    };
    writeInstructions(d.workers, [padded]);
    const env = machineEnv('missing', path.join(d.root, 'state-a'), openai());
    const { r, report } = await startBatch(d, `refused-${Date.now()}`, env, ['--no-worker', '--only', 'WORKER_942']);
    expect({ code: r.exitCode, out: out(r) }).toMatchObject({ code: 3 });
    expect(r.stderr).toMatch(
      new RegExp(
        'refused, nothing was started: the workers do not share a blob store ' +
          String.raw`\(llm-openai workers put claim checks in local:`,
      ),
    );
    expect(r.stderr).toMatch(/WORKER_942 is larger than their inline limit \(1500 bytes\)/);
    expect(report).toBeUndefined();
    expect(llm.callsFor('WORKER_942')).toEqual([]);
  }, 300_000);
});

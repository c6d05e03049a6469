// The instruction workflow on its own (no batch), on a real dev server: the real workspace
// activities (real files, real Python), LLM calls either through the real clients against the
// stand-in or, where the point is what the workflow does with a failure the activity reports,
// through scripted activities. Each test gives its instruction LLM queues of its own
// (`options.llmQueues`), so a queue nobody polls is just a name no worker was created for.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createActivities } from '../../src/activities/index.js';
import { saveManifest } from '../../src/activities/manifest-store.js';
import { readConfig } from '../../src/config.js';
import { loadManifest } from '../../src/instructions/manifest.js';
import { webpackConfigHook } from '../../src/temporal/bundle.js';
import type {
  BatchOptions,
  GenerateRequest,
  InstructionDone,
  Generation,
  InstructionInput,
  InstructionResult,
  Provider,
} from '../../src/schemas.js';
import { writeInstructions, type InstructionSpec } from '../support/instructions.js';
import { workflowBundle } from '../support/bundle.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { startTestServer } from '../support/temporal.js';
import { waitFor } from '../support/wait.js';

/** Budget checks off: the tests that are not about the budget. */
const UNLIMITED = { allowanceUsd: Number.MAX_SAFE_INTEGER, generationEstimateUsd: 0 };

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let llm: LlmStandIn;

beforeAll(async () => {
  // Side by side, each kept as soon as it is there, so that afterAll stops what started.
  const ready = await Promise.allSettled([
    startTestServer().then((e) => (env = e)),
    workflowBundle().then((b) => (bundle = b)),
    startLlmStandIn().then((l) => (llm = l)),
  ]);
  for (const r of ready) if (r.status === 'rejected') throw r.reason;
});
afterAll(async () => {
  await llm?.close();
  await env?.teardown();
});

type Llm = Partial<Record<Provider, (req: GenerateRequest) => Promise<Generation>>>;

let counter = 0;

interface SetUpOptions {
  serve: Provider[];
  llm?: Llm;
  budget?: InstructionInput['budget'];
  llmPolicy?: Partial<BatchOptions['llm']>;
}

/**
 * One instruction's files, manifest, input and workers. The providers in `serve` are served by
 * the functions in `llm`, else by the real activities against the stand-in; providers not served
 * have a queue nobody polls.
 */
async function setUp(spec: InstructionSpec, opts: SetUpOptions, workflowBundle = bundle) {
  const n = ++counter;
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-instr-'));
  const workspace = path.join(root, 'workspace');
  mkdirSync(path.join(workspace, 'wingman'), { recursive: true });
  writeInstructions(path.join(root, 'workers'), [spec]);
  const config = readConfig({
    OPENAI_API_KEY: 'sk-test-instruction-workflow',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    OLLAMA_HOST: llm.url,
    WINGMAN_STATE_DIR: path.join(root, 'state'),
    ...(process.env.WINGMAN_PYTHON ? { WINGMAN_PYTHON: process.env.WINGMAN_PYTHON } : {}),
  });
  const { entries } = await loadManifest({ workersDir: path.join(root, 'workers'), workspace, pythonRoot: 'wingman' });
  const manifest = await saveManifest(path.join(root, 'state', 'manifests'), entries);
  const activities = createActivities(config);
  const tag = `i${n}-${Date.now()}`;
  const options: BatchOptions = {
    workspace,
    pythonRoot: 'wingman',
    concurrency: 1,
    budgetUsd: 15,
    thresholds: { minSample: 10, guideRate: 0.1, failedRate: 0.2, llmTimeoutRate: 0.3, errorRate: 0.2 },
    llm: {
      timeoutMs: 5000,
      heartbeatMs: 5000,
      maxAttempts: 3,
      initialRetryMs: 100,
      maxRetryMs: 200,
      temperature: 0.1,
      maxTokens: 4000,
      ...opts.llmPolicy,
    },
    providers: ['openai', 'ollama'],
    reportPath: path.join(root, 'report.json'),
    workspaceQueue: `ws-${tag}`,
    cache: false,
    llmQueues: { openai: `llm-openai-${tag}`, ollama: `llm-ollama-${tag}`, processor: `llm-processor-${tag}` },
  };
  const connection = env.nativeConnection;
  const real: Record<Provider, (req: GenerateRequest) => Promise<Generation>> = {
    openai: activities.llm.generateOpenAI,
    ollama: activities.llm.generateOllama,
    processor: activities.llm.generateProcessor,
  };
  const name = { openai: 'generateOpenAI', ollama: 'generateOllama', processor: 'generateProcessor' } as const;
  const workers = await Promise.all([
    Worker.create({ connection, taskQueue: `wf-${tag}`, workflowBundle, activities: activities.local }),
    Worker.create({ connection, taskQueue: options.workspaceQueue, activities: activities.workspace }),
    ...opts.serve.map((p) =>
      Worker.create({
        connection,
        taskQueue: options.llmQueues[p],
        activities: { [name[p]]: opts.llm?.[p] ?? real[p] },
      }),
    ),
  ]);
  const input: InstructionInput = {
    batchId: tag,
    workerId: spec.id,
    manifest,
    dependencyFiles: [],
    options,
    budget: opts.budget ?? UNLIMITED,
  };
  return { input, workers, root, workspace, tag, taskQueue: `wf-${tag}` };
}

/** Runs one instruction to its end (see setUp). */
async function runInstruction(
  spec: InstructionSpec,
  opts: SetUpOptions,
): Promise<{ result: InstructionResult; workspace: string }> {
  const { input, workers, root, workspace, tag, taskQueue } = await setUp(spec, opts);
  const run = Promise.all(workers.map((w) => w.run()));
  try {
    const result = await env.client.workflow.execute('instructionWorkflow', {
      taskQueue,
      workflowId: `instr-${tag}`,
      args: [input],
    });
    // What the workflow returned is what it recorded for the report.
    expect(JSON.parse(readFileSync(path.join(root, 'workers', `${spec.id}.json`), 'utf8'))).toEqual(result);
    return { result: result as InstructionResult, workspace };
  } finally {
    workers.forEach((w) => w.shutdown());
    await run;
  }
}

const code = (id: string) => `def value() -> str:\n    return ${JSON.stringify(id)}\n`;
const spec = (id: string, extra: Partial<InstructionSpec> = {}): InstructionSpec => ({
  id,
  files: [`wingman/instr/w${id.slice(7)}.py`],
  ...extra,
});

describe('no slot held forever', () => {
  test('an LLM queue no worker polls is a provider failure: the fallback answers', async () => {
    // It answers after the 2 s schedule-to-start limit.
    llm.script('WORKER_701', [{ code: code('WORKER_701') }], { provider: 'ollama' });
    const { result, workspace } = await runInstruction(spec('WORKER_701'), {
      serve: ['ollama'],
      llmPolicy: { scheduleToStartMs: 2000 },
    });
    expect(result).toMatchObject({ outcome: 'passed', provider: 'ollama', attempts: 2 });
    expect(result.failures).toEqual([
      {
        attempt: 1,
        kind: 'llm',
        message: expect.stringMatching(/^openai: no worker took the call from queue llm-openai-\S+ within 2 s$/),
      },
    ]);
    expect(llm.callsFor('WORKER_701').map((c) => c.provider)).toEqual(['ollama']);
    expect(readFileSync(path.join(workspace, 'wingman/instr/w701.py'), 'utf8')).toBe(code('WORKER_701'));
  }, 120_000);

  test('no provider polled at all: the instruction ends error and says so, nothing billed', async () => {
    const { result } = await runInstruction(spec('WORKER_702'), { serve: [], llmPolicy: { scheduleToStartMs: 1000 } });
    expect(result).toMatchObject({ outcome: 'error', provider: null, costUsd: 0, attempts: 2 });
    expect(result.error).toMatch(/openai: no worker took the call .*; ollama: no worker took the call/);
    expect(llm.callsFor('WORKER_702')).toHaveLength(0);
  }, 120_000);
});

describe('budget allowance', () => {
  test('an allowance smaller than one generation: skipped with the budget reason, no LLM call made', async () => {
    const { result } = await runInstruction(spec('WORKER_711'), {
      serve: ['openai', 'ollama'],
      budget: { allowanceUsd: 0.001, generationEstimateUsd: 0.002 },
    });
    expect(result).toMatchObject({
      outcome: 'skipped',
      error: 'budget: reservation of $0.0010 used',
      attempts: 0,
      costUsd: 0,
      files: [],
    });
    expect(llm.callsFor('WORKER_711')).toHaveLength(0);
  }, 120_000);

  test('an allowance of one generation: the regeneration after failing tests is not made', async () => {
    const id = 'WORKER_712';
    const test = 'from instr.w712 import value\n\n\ndef test_value():\n    assert value() == 2, "VALUE_MARKER"\n';
    const answer = (n: number) => ({
      files: { 'wingman/instr/w712.py': `def value():\n    return ${n}\n`, 'wingman/tests/test_w712.py': test },
    });
    llm.script(id, [answer(1), answer(2)]);
    const { result } = await runInstruction(
      spec(id, { files: ['wingman/instr/w712.py', 'wingman/tests/test_w712.py'], test: 'pytest tests/test_w712.py' }),
      { serve: ['openai', 'ollama'], budget: { allowanceUsd: 0.01, generationEstimateUsd: 0.01 } },
    );
    expect(result).toMatchObject({ outcome: 'skipped', error: 'budget: reservation of $0.0100 used', attempts: 1 });
    expect(result.costUsd).toBeGreaterThan(0);
    expect(result.failures.map((f) => f.kind)).toEqual(['tests']);
    expect(llm.callsFor(id)).toHaveLength(1);
  }, 120_000);
});

describe('every billed call costed, a timeout goes to the next provider at once', () => {
  test('a timed-out call is not retried on the same provider; an openai timeout adds the estimate', async () => {
    // Not even when the activity calls it retryable.
    const id = 'WORKER_721';
    let openaiCalls = 0;
    llm.script(id, [{ code: code(id) }], { provider: 'ollama' });
    const { result } = await runInstruction(spec(id), {
      serve: ['openai', 'ollama'],
      budget: { allowanceUsd: 1, generationEstimateUsd: 0.02 },
      llm: {
        openai: async () => {
          openaiCalls += 1;
          throw ApplicationFailure.create({
            type: 'LlmTimeout',
            message: 'openai: no answer within 5000 ms',
            nonRetryable: false,
          });
        },
      },
    });
    expect(openaiCalls).toBe(1); // maxAttempts is 3
    expect(result).toMatchObject({ outcome: 'passed', provider: 'ollama', attempts: 2 });
    expect(result.costUsd).toBeCloseTo(0.02, 10); // the estimate; the local model bills nothing
    expect(result.failures).toEqual([{ attempt: 1, kind: 'llm', message: 'openai: no answer within 5000 ms' }]);
    expect(result.changes).toBe('ollama answered after 1 failed LLM call; tests passed');
  }, 120_000);

  test('a failed call that came back with usage adds its cost and tokens from the failure details', async () => {
    const id = 'WORKER_722';
    llm.script(id, [{ code: code(id) }], { provider: 'ollama' });
    const { result } = await runInstruction(spec(id), {
      serve: ['openai', 'ollama'],
      budget: { allowanceUsd: 1, generationEstimateUsd: 0.02 },
      llm: {
        openai: async () => {
          throw ApplicationFailure.create({
            type: 'LlmBadOutput',
            message: 'openai: completion cut off at max_tokens',
            nonRetryable: true,
            details: [{ costUsd: 0.25, tokens: { prompt: 100, completion: 50 } }],
          });
        },
      },
    });
    const ollama = llm.callsFor(id).filter((c) => c.provider === 'ollama');
    expect(ollama).toHaveLength(1);
    expect(result).toMatchObject({ outcome: 'passed', provider: 'ollama', attempts: 2 });
    expect(result.costUsd).toBeCloseTo(0.25, 10);
    expect(result.tokens).toEqual({
      prompt: 100 + ollama[0]!.promptTokens,
      completion: 50 + ollama[0]!.completionTokens,
    });
  }, 120_000);
});

describe('a call out when the batch aborts', () => {
  test('the instruction cancelled while an openai call hangs reports skipped, costing the estimate', async () => {
    const parentBundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./cancelling-parent.ts', import.meta.url)),
      webpackConfigHook,
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    const id = 'WORKER_741';
    llm.script(id, [{ hang: true }], { provider: 'openai' });
    const { input, workers, taskQueue, tag } = await setUp(
      spec(id),
      {
        serve: ['openai', 'ollama'],
        budget: { allowanceUsd: 1, generationEstimateUsd: 0.02 },
        llmPolicy: { timeoutMs: 60_000, heartbeatMs: 2000 },
      },
      parentBundle,
    );
    const run = Promise.all(workers.map((w) => w.run()));
    try {
      const handle = await env.client.workflow.start('cancellingParent', {
        taskQueue,
        workflowId: `parent-${tag}`,
        args: [input],
      });
      await waitFor(() => llm.callsFor(id).some((c) => c.provider === 'openai'), { what: 'the openai call to be out' });
      await handle.signal('cancelChild');
      const done = (await handle.result()) as InstructionDone;
      expect(done).toMatchObject({ id, outcome: 'skipped' });
      expect(done.costUsd).toBeCloseTo(0.02, 10);
      expect(llm.callsFor(id).map((c) => c.provider)).toEqual(['openai']);
    } finally {
      workers.forEach((w) => w.shutdown());
      await run;
    }
  }, 120_000);
});

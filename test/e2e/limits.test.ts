// Systemic failure and the budget stop the money, through the real start-batch against a real
// dev server and the LLM stand-in (real openai client, real costs from the price table).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { execaSync } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { costUsd } from '../../src/activities/llm/pricing.js';
import type { BatchSummary, ManifestEntry, Report } from '../../src/schemas.js';
import { cliEnv, runCli } from '../support/cli.js';
import { writeInstructions } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { startTestServer } from '../support/temporal.js';

let server: TestWorkflowEnvironment;
let llm: LlmStandIn;

beforeAll(async () => {
  server = await startTestServer();
  llm = await startLlmStandIn();
});
afterAll(async () => {
  await llm?.close();
  await server?.teardown();
});

function setup(n: number, test: (id: string) => string) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-limits-'));
  const workspace = path.join(root, 'workspace');
  mkdirSync(path.join(workspace, 'wingman'), { recursive: true });
  const ids = Array.from({ length: n }, (_, i) => `WORKER_${String(701 + i)}`);
  writeInstructions(
    path.join(root, 'workers'),
    ids.map((id) => ({ id, files: [`wingman/lim/w${id.slice(7)}.py`], test: test(id) })),
  );
  return {
    root,
    workspace,
    ids,
    args: ['--workers', path.join(root, 'workers'), '--workspace', workspace, '--python-root', 'wingman'],
  };
}

test('a Python without pytest: start-batch refuses (exit 3, one line) before paying for any generation', async () => {
  const { root, ids, args } = setup(30, (id) => `pytest lim/test_w${id.slice(7)}.py`);
  // A real interpreter with nothing installed: the venv sees no site-packages of the system.
  const venv = path.join(root, 'venv');
  execaSync('python3', ['-m', 'venv', '--without-pip', venv]);
  const before = llm.calls.length;
  const r = await runCli('starter', [...args, '--batch-id', `nopytest-${Date.now()}`], {
    cwd: root,
    env: cliEnv({
      TEMPORAL_ADDRESS: server.address,
      OPENAI_API_KEY: 'sk-test-limits',
      OPENAI_BASE_URL: llm.openaiBaseUrl,
      WINGMAN_STATE_DIR: path.join(root, 'state'),
      WINGMAN_PYTHON: path.join(venv, 'bin', 'python'),
    }),
  });
  expect(r.exitCode).toBe(3);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(
    new RegExp(
      String.raw`^test runner pytest is not available \(.*No module named pytest\); ` +
        'needed by WORKER_701, WORKER_702, WORKER_703 and 27 more',
    ),
  );
  const paid = llm.calls.slice(before).filter((c) => ids.includes(c.workerId ?? '')).length;
  console.log(`no pytest: generations paid ${paid}`);
  expect(paid).toBe(0);
});

test('--budget: children start only within their reservation; the spend stays near the budget', async () => {
  // Near: within one generation of the budget.
  const { root, ids, args } = setup(20, (id) => `python -m py_compile lim/w${id.slice(7)}.py`);
  // A long answer: each generation costs about what the planner estimates (gpt-4 prices, ~3,000 completion tokens).
  const filler = Array.from({ length: 1000 }, (_, i) => `    x${i} = ${i}`).join('\n');
  llm.fallback((c) => ({ code: `# ${c.workerId}\ndef value() -> int:\n${filler}\n    return 1\n` }));
  const budget = 2;
  const state = path.join(root, 'state');
  const before = llm.calls.length;
  const r = await runCli(
    'starter',
    [...args, '--batch-id', `budget-${Date.now()}`, '--concurrency', '5', '--budget', String(budget), '--json'],
    {
      cwd: root,
      env: cliEnv({
        TEMPORAL_ADDRESS: server.address,
        OPENAI_API_KEY: 'sk-test-limits',
        OPENAI_BASE_URL: llm.openaiBaseUrl,
        OPENAI_MODEL: 'gpt-4',
        WINGMAN_STATE_DIR: state,
      }),
    },
  );
  expect({ code: r.exitCode, err: r.stderr.slice(-2000) }).toMatchObject({ code: 2 });
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as BatchSummary;
  expect(summary.abortReason).toMatch(/^budget/);
  const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as Report;
  expect(report.workers).toHaveLength(20);
  expect(summary.counts.passed).toBeGreaterThan(0);
  expect(summary.counts.skipped).toBeGreaterThan(0);

  // What was really paid, from the stand-in's own record of the calls, priced like the workers price them.
  const calls = llm.calls.slice(before).filter((c) => ids.includes(c.workerId ?? ''));
  const paid = calls.reduce(
    (s, c) => s + costUsd('openai', 'gpt-4', { prompt: c.promptTokens, completion: c.completionTokens }),
    0,
  );
  expect(summary.costUsd).toBeCloseTo(paid, 6);
  const manifests = readdirSync(path.join(state, 'manifests'));
  const entries = JSON.parse(readFileSync(path.join(state, 'manifests', manifests[0]!), 'utf8')) as ManifestEntry[];
  const estimate = Math.max(...entries.map((e) => e.generationEstimateUsd));
  const perGeneration = paid / calls.length;
  const overshoot = summary.costUsd - budget;
  console.log(
    `budget $${budget}: spent $${summary.costUsd.toFixed(4)} in ${calls.length} generations ` +
      `($${perGeneration.toFixed(4)} each), overshoot $${overshoot.toFixed(4)}, ` +
      `one generation's estimate $${estimate.toFixed(4)}; ` +
      `${summary.counts.passed} passed, ${summary.counts.skipped} skipped`,
  );
  expect(estimate).toBeGreaterThan(0);
  expect(overshoot).toBeLessThanOrEqual(estimate);
});

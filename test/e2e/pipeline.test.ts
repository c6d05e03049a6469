// The WORKER_001 + WORKER_013 pipeline from the sample instructions (`npm run e2e`): the
// analyzer, then its pytest tests, which must import it by the path the prompt computed.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { cliEnv, repoRoot, runCli } from '../support/cli.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { startTestServer } from '../support/temporal.js';

const fixture = (name: string) => readFileSync(path.join(repoRoot, 'test/fixtures/e2e', name), 'utf8');

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

test('WORKER_001 writes the analyzer, WORKER_013 its tests, real pytest passes them; a rerun re-attaches', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-pipeline-'));
  const workspace = path.join(root, 'workspace');
  mkdirSync(workspace);
  llm.script('WORKER_001', [{ code: fixture('semantic_analyzer.py') }]);
  llm.script('WORKER_013', [{ code: fixture('test_semantic_analyzer.py') }]);
  const batchId = `pipeline-${Date.now()}`;
  const args = [
    '--workers',
    path.join(repoRoot, 'workers'),
    '--workspace',
    workspace,
    '--python-root',
    'wingman',
    '--only',
    'WORKER_001,WORKER_013',
    '--batch-id',
    batchId,
  ];
  const env = cliEnv({
    TEMPORAL_ADDRESS: server.address,
    OPENAI_API_KEY: 'sk-test-pipeline-not-a-real-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    WINGMAN_STATE_DIR: path.join(root, 'state'),
  });

  const first = await runCli('starter', args, { cwd: root, env });
  expect({ code: first.exitCode, out: first.stdout + first.stderr }).toMatchObject({ code: 0 });
  expect(first.stdout).toMatch(new RegExp(`/namespaces/default/workflows/batch-${batchId}`));

  const report = JSON.parse(readFileSync(path.join(root, 'results', batchId, 'report.json'), 'utf8')) as Report;
  expect(report).toMatchObject({ batchId, status: 'completed', abortReason: null });
  expect(report.counts).toEqual({ passed: 2, failed: 0, guide: 0, llm_timeout: 0, error: 0, skipped: 0 });
  const w13 = report.workers.find((w) => w.id === 'WORKER_013')!;
  expect(w13).toMatchObject({
    outcome: 'passed',
    provider: 'openai',
    model: 'gpt-4o-mini',
    files: ['wingman/tests/test_semantic_analyzer.py'],
    tests: { passed: 4, failed: 0 },
  });
  expect(readFileSync(path.join(workspace, 'wingman/validation/semantic_analyzer.py'), 'utf8')).toBe(
    fixture('semantic_analyzer.py'),
  );

  // The prompt names the file, the import path computed from the Python root, and the
  // public names of the dependency that exists by then.
  const prompt13 = llm.callsFor('WORKER_013')[0]!.prompt;
  expect(prompt13).toContain('wingman/tests/test_semantic_analyzer.py');
  expect(prompt13).toContain('validation.semantic_analyzer');
  expect(prompt13).toContain('SemanticAnalyzer');
  expect(prompt13).toContain('score_clarity');
  const prompt01 = llm.callsFor('WORKER_001')[0]!.prompt;
  expect(prompt01).toContain('wingman/validation/semantic_analyzer.py');
  expect(prompt01).toContain('validation.semantic_analyzer');

  // Same batch id again: it re-attaches to the finished batch instead of paying twice.
  const calls = llm.calls.length;
  const second = await runCli('starter', args, { cwd: root, env });
  expect(second.exitCode).toBe(0);
  expect(second.stdout).toMatch(/Re-attaching to batch/);
  expect(llm.calls.length).toBe(calls);
});

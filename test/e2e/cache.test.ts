// Paying once: the opt-in generation cache and --replay-from, through the real CLI.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  llm.script('WORKER_001', [{ code: fixture('semantic_analyzer.py') }]);
  llm.script('WORKER_013', [{ code: fixture('test_semantic_analyzer.py') }]);
});
afterAll(async () => {
  await llm?.close();
  await server?.teardown();
});

function setup() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-cache-'));
  const workspace = path.join(root, 'workspace');
  mkdirSync(workspace);
  const env = cliEnv({
    TEMPORAL_ADDRESS: server.address,
    OPENAI_API_KEY: 'sk-test-cache-not-a-real-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    WINGMAN_STATE_DIR: path.join(root, 'state'),
  });
  const run = (batchId: string, ...extra: string[]) =>
    runCli(
      'starter',
      [
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
        ...extra,
      ],
      { cwd: root, env },
    );
  const report = (batchId: string) =>
    JSON.parse(readFileSync(path.join(root, 'results', batchId, 'report.json'), 'utf8')) as Report;
  return { root, workspace, run, report };
}

test('with --cache, a re-run after the workspace was lost pays nothing for generations it has', async () => {
  const s = setup();
  const first = await s.run('cache-1', '--cache');
  expect(first.exitCode).toBe(0);
  const paid = s.report('cache-1');
  expect(paid.cache).toEqual({ hits: 0, savedUsd: 0 });
  expect(paid.costUsd).toBeGreaterThan(0);
  const calls = llm.calls.length;

  // The test environment was broken and got rebuilt: the files are gone, the answers are not.
  rmSync(path.join(s.workspace, 'wingman'), { recursive: true });
  const second = await s.run('cache-2', '--cache');
  expect(second.exitCode).toBe(0);
  expect(llm.calls.length).toBe(calls);
  const free = s.report('cache-2');
  expect(free.counts.passed).toBe(2);
  expect(free.costUsd).toBe(0);
  expect(free.cache.hits).toBe(2);
  expect(free.cache.savedUsd).toBeCloseTo(paid.costUsd, 10);
  expect(readFileSync(path.join(s.workspace, 'wingman/validation/semantic_analyzer.py'), 'utf8')).toBe(
    fixture('semantic_analyzer.py'),
  );
});

test('--replay-from reuses the code an earlier batch generated, without --cache', async () => {
  const s = setup();
  expect((await s.run('replay-src')).exitCode).toBe(0);
  const calls = llm.calls.length;
  rmSync(path.join(s.workspace, 'wingman'), { recursive: true });
  const again = await s.run('replay-dst', '--replay-from', 'replay-src');
  expect(again.exitCode).toBe(0);
  expect(again.stdout).toMatch(/Reusing the code batch replay-src generated for 2 of 2 workers/);
  expect(llm.calls.length).toBe(calls);
  const r = s.report('replay-dst');
  expect(r.cache.hits).toBe(2);
  expect(r.costUsd).toBe(0);
  expect(r.cache.savedUsd).toBeCloseTo(s.report('replay-src').costUsd, 10);
});

test('without --cache the same prompt is paid for again', async () => {
  const s = setup();
  expect((await s.run('nocache-1')).exitCode).toBe(0);
  const calls = llm.calls.length;
  rmSync(path.join(s.workspace, 'wingman'), { recursive: true });
  expect((await s.run('nocache-2')).exitCode).toBe(0);
  expect(llm.calls.length).toBe(calls + 2);
});

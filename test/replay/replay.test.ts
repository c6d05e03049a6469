// Saved histories of real batches (test/fixtures/histories/<shape>/, from record-histories.ts)
// replayed against today's workflow code: a change that would break running batches fails here.
// Each folder is one shape of the workflows that batches may still be running: separate-steps
// from before patched('merged-worker-steps'), merged-steps after it.
import { describe, expect, test } from '@jest/globals';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflows, webpackConfigHook } from '../../src/temporal/bundle.js';
import { dataConverter } from '../../src/temporal/codec.js';
import { repoRoot } from '../support/cli.js';

const dir = path.join(repoRoot, 'test/fixtures/histories');
const SHAPES = ['separate-steps', 'merged-steps'];
const fixtures = SHAPES.flatMap((shape) =>
  readdirSync(path.join(dir, shape)).filter((f) => f.endsWith('.json')).sort().map((f) => `${shape}/${f}`),
);
const histories = () =>
  fixtures.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) }));

describe('replay of recorded batches', () => {
  test.each(SHAPES)('%s: the fixtures cover the parent and every kind of child run', (shape) => {
    expect(fixtures).toContain(`${shape}/batch-recorded.json`);
    expect(fixtures.filter((f) => f.startsWith(`${shape}/`) && f.includes('WORKER_')).length).toBeGreaterThanOrEqual(6);
  });

  test('each shape is the one its folder names', () => {
    const activities = (f: string) => [...readFileSync(path.join(dir, f), 'utf8').matchAll(/"activityType":\s*\{\s*"name":\s*"(\w+)"/g)].map((m) => m[1]);
    expect(activities('separate-steps/batch-recorded_WORKER_001.json')).toEqual(
      expect.arrayContaining(['loadEntry', 'preparePrompt', 'inspectOutput', 'writeDeliverables', 'runTests', 'checkCriteria', 'storeRetrospective', 'recordResult']),
    );
    expect(activities('merged-steps/batch-recorded_WORKER_001.json')).toEqual(['beginWorker', 'generateOpenAI', 'acceptOutput', 'verifyOutput', 'finishWorker']);
  });

  test('today\'s workflow code replays every recorded history without a determinism error', async () => {
    const workflowBundle = await bundleWorkflows();
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'fixtures', dataConverter }, histories())) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(fixtures.length);
  });

  test('an incompatible change to the worker workflow is caught', async () => {
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./drifted-workflows.ts', import.meta.url)),
      webpackConfigHook,
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    const child = histories().find((h) => h.workflowId === 'merged-steps/batch-recorded_WORKER_001')!;
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'drifted', dataConverter }, [child])) results.push(result);
    expect(results).toHaveLength(1);
    expect(results[0]!.error).toBeInstanceOf(DeterminismViolationError);
  });
});

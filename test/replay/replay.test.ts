// Saved histories of a real batch (test/fixtures/histories, from record-histories.ts) replayed
// against today's workflow code: a change that would break running batches fails here.
import { describe, expect, test } from '@jest/globals';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflows, webpackConfigHook } from '../../src/bundle.js';
import { repoRoot } from '../support/cli.js';

const dir = path.join(repoRoot, 'test/fixtures/histories');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const histories = () => fixtures.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) }));

describe('replay of recorded batches', () => {
  test('the fixtures cover the parent and every kind of child run', () => {
    expect(fixtures).toContain('batch-recorded.json');
    expect(fixtures.filter((f) => f.includes('WORKER_')).length).toBeGreaterThanOrEqual(6);
  });

  test('today\'s workflow code replays every recorded history without a determinism error', async () => {
    const workflowBundle = await bundleWorkflows();
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'fixtures' }, histories())) {
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
    const child = histories().find((h) => h.workflowId.includes('WORKER_001'))!;
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'drifted' }, [child])) results.push(result);
    expect(results).toHaveLength(1);
    expect(results[0]!.error).toBeInstanceOf(DeterminismViolationError);
  });
});

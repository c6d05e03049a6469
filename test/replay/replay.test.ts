// Saved histories of real batches (test/fixtures/histories/<shape>/, from record-histories.ts)
// replayed against today's workflow code: a change that would break running batches fails here.
// Each folder is one shape of the workflows that batches may still be running; today there is
// one, named-steps.
import { describe, expect, test } from '@jest/globals';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflows, webpackConfigHook } from '../../src/temporal/bundle.js';
import { dataConverter } from '../../src/temporal/codec.js';
import { repoRoot } from '../support/cli.js';
import { CURRENT_SHAPE } from './shapes.js';

const dir = path.join(repoRoot, 'test/fixtures/histories');
const SHAPES = readdirSync(dir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const fixtures = SHAPES.flatMap((shape) =>
  readdirSync(path.join(dir, shape))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => `${shape}/${f}`),
);
const histories = () =>
  fixtures.map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: JSON.parse(readFileSync(path.join(dir, f), 'utf8')),
  }));

describe('replay of recorded batches', () => {
  test.each(SHAPES)('%s: the fixtures cover the parent and every kind of child run', (shape) => {
    expect(fixtures).toContain(`${shape}/batch-recorded.json`);
    expect(fixtures.filter((f) => f.startsWith(`${shape}/`) && f.includes('WORKER_')).length).toBeGreaterThanOrEqual(6);
  });

  test('the current shape: one activity per step, no patch marker, the search attributes set once at the end', () => {
    expect(SHAPES).toContain(CURRENT_SHAPE);
    const events = (f: string) =>
      (JSON.parse(readFileSync(path.join(dir, CURRENT_SHAPE, f), 'utf8')) as { events: Array<Record<string, unknown>> })
        .events;
    const clean = events('batch-recorded_WORKER_001.json');
    const activities = clean.flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined;
      return a ? [a.activityType?.name] : [];
    });
    expect(activities).toEqual(['beginWorker', 'generateOpenAI', 'acceptOutput', 'verifyOutput', 'finishWorker']);
    expect(clean.filter((e) => e.markerRecordedEventAttributes)).toHaveLength(0);
    expect(clean.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toHaveLength(1);
    // A criterion that failed was regenerated: the prompt step ran once more between the generations.
    const crit = events('batch-recorded_WORKER_008.json').flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes as { activityType?: { name?: string } } | undefined;
      return a ? [a.activityType?.name] : [];
    });
    expect(crit).toEqual([
      'beginWorker',
      'generateOpenAI',
      'acceptOutput',
      'verifyOutput',
      'preparePrompt',
      'generateOpenAI',
      'acceptOutput',
      'verifyOutput',
      'finishWorker',
    ]);
  });

  test("today's workflow code replays every recorded history without a determinism error", async () => {
    const workflowBundle = await bundleWorkflows();
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      { workflowBundle, replayName: 'fixtures', dataConverter },
      histories(),
    )) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(fixtures.length);
  });

  test('an incompatible change to the instruction workflow is caught', async () => {
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./drifted-workflows.ts', import.meta.url)),
      webpackConfigHook,
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    const child = histories().find((h) => h.workflowId === `${CURRENT_SHAPE}/batch-recorded_WORKER_001`)!;
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'drifted', dataConverter }, [
      child,
    ]))
      results.push(result);
    expect(results).toHaveLength(1);
    expect(results[0]!.error).toBeInstanceOf(DeterminismViolationError);
  });
});

// Saved histories of real batches (test/fixtures/histories/<shape>/, from record-histories.ts)
// replayed against today's workflow code: a change that would break running batches fails here.
// Each folder is one shape of the workflows that batches may still be running; today there is
// one, local-steps.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { webpackConfigHook } from '../../src/temporal/bundle.js';
import { dataConverter } from '../../src/temporal/codec.js';
import { workflowBundle } from '../support/bundle.js';
import { repoRoot } from '../support/cli.js';
import { quietRuntime } from '../support/temporal.js';
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
interface HistoryEvent {
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  markerRecordedEventAttributes?: { markerName?: string; details?: { data?: { payloads?: Array<{ data?: string }> } } };
  [attributes: string]: unknown;
}

/** Activities by type, and local activities (from their markers) as `local <type>`, in history order. */
function steps(events: HistoryEvent[]): string[] {
  return events.flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (scheduled) return [scheduled];
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return [];
    const data = marker.details?.data?.payloads?.[0]?.data ?? '';
    return [
      `local ${(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { activity_type: string }).activity_type}`,
    ];
  });
}

const histories = () =>
  fixtures.map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: JSON.parse(readFileSync(path.join(dir, f), 'utf8')),
  }));

beforeAll(quietRuntime);

describe('replay of recorded batches', () => {
  test.each(SHAPES)('%s: the fixtures cover the parent and every kind of child run', (shape) => {
    expect(fixtures).toContain(`${shape}/batch-recorded.json`);
    expect(fixtures.filter((f) => f.startsWith(`${shape}/`) && f.includes('WORKER_')).length).toBeGreaterThanOrEqual(6);
  });

  test('the current shape: quick steps as local activities, one activity to check', () => {
    // The search attributes are set once, at the end.
    expect(SHAPES).toContain(CURRENT_SHAPE);
    const events = (f: string) =>
      (JSON.parse(readFileSync(path.join(dir, CURRENT_SHAPE, f), 'utf8')) as { events: HistoryEvent[] }).events;
    const clean = events('batch-recorded_WORKER_001.json');
    expect(steps(clean)).toEqual([
      'local beginInstruction',
      'generateOpenAI',
      'checkOutput',
      'local finishInstruction',
    ]);
    expect(clean.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes)).toHaveLength(1);
    // The batch is told by the finish step, not by a signal from the workflow (no task spent on it).
    expect(clean.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)).toHaveLength(0);
    expect(clean.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(3);
    // A criterion that failed was regenerated: the prompt step ran once more between the generations.
    expect(steps(events('batch-recorded_WORKER_008.json'))).toEqual([
      'local beginInstruction',
      'generateOpenAI',
      'checkOutput',
      'local preparePrompt',
      'generateOpenAI',
      'checkOutput',
      'local finishInstruction',
    ]);
  });

  test("today's workflow code replays every recorded history without a determinism error", async () => {
    const bundle = await workflowBundle();
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: bundle, replayName: 'fixtures', dataConverter },
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

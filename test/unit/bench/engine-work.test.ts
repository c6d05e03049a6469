// The bench's pure counting of engine work (bench/engine-work.ts) and its RSS reading
// (bench/memory.ts) on small synthetic histories: the instruction workflow's old shape (five
// activities, a signal from workflow code), its new shape (local activities, a signal from an
// activity, so only the batch sees it), a batch's runs across continue-as-new.
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import proto, { type temporal } from '@temporalio/proto';
import {
  LOCAL_ACTIVITY_MARKER,
  countWork,
  zeroWork,
  perWorkerWork,
  sampleIds,
  type WorkCounts,
} from '../../../bench/engine-work.js';
import { rssAcrossRuns } from '../../../bench/memory.js';

type Event = temporal.api.history.v1.IHistoryEvent;
const T = proto.temporal.api.enums.v1.EventType;

const ev = (eventType: number, attrs: Omit<Event, 'eventType'> = {}): Event => ({ eventType, ...attrs });
const wft = (): Event[] => [
  ev(T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
  ev(T.EVENT_TYPE_WORKFLOW_TASK_STARTED),
  ev(T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
];
const activity = (attempt = 1): Event[] => [
  ev(T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
  ev(T.EVENT_TYPE_ACTIVITY_TASK_STARTED, { activityTaskStartedEventAttributes: { attempt } }),
  ev(T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),
];
const marker = (markerName: string) =>
  ev(T.EVENT_TYPE_MARKER_RECORDED, { markerRecordedEventAttributes: { markerName } });
const upsert = (...keys: string[]) =>
  ev(T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, {
    upsertWorkflowSearchAttributesEventAttributes: {
      searchAttributes: { indexedFields: Object.fromEntries(keys.map((k) => [k, {}])) },
    },
  });
const childStart = (attrs: temporal.api.history.v1.IWorkflowExecutionStartedEventAttributes = {}) =>
  ev(T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, {
    workflowExecutionStartedEventAttributes: { parentWorkflowExecution: { workflowId: 'batch-b' }, ...attrs },
  });
const clientStart = (attrs: temporal.api.history.v1.IWorkflowExecutionStartedEventAttributes = {}) =>
  ev(T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, { workflowExecutionStartedEventAttributes: attrs });
const signaled = () =>
  ev(T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, { workflowExecutionSignaledEventAttributes: { signalName: 'x' } });
const completed = () => ev(T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);

const counts = (c: Partial<WorkCounts>): WorkCounts => ({ ...zeroWork(), ...c });

// Old shape: five activities (the second retried twice), one upsert, a signal from workflow code.
const oldShape = [
  childStart(),
  ...wft(),
  ...activity(),
  ...wft(),
  ...activity(3),
  ...wft(),
  ...activity(),
  ...wft(),
  ...activity(),
  ...wft(),
  upsert('WingmanOutcome', 'WingmanProvider'),
  ...activity(),
  ...wft(),
  ev(T.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
  ev(T.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED),
  ...wft(),
  completed(),
];

// New shape: two local activities in the first task, one in the last (with a retry the worker ran),
// a patch marker (not a local activity), a TemporalChangeVersion upsert (a visibility write, no action).
const lastTask = ev(T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, {
  workflowTaskCompletedEventAttributes: { meteringMetadata: { nonfirstLocalActivityExecutionAttempts: 1 } },
});
const newShape = [
  childStart(),
  ...wft(),
  marker(LOCAL_ACTIVITY_MARKER),
  marker(LOCAL_ACTIVITY_MARKER),
  marker('core_patch'),
  upsert('TemporalChangeVersion'),
  ...activity(),
  ...wft(),
  ...activity(),
  ev(T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
  ev(T.EVENT_TYPE_WORKFLOW_TASK_STARTED),
  lastTask,
  marker(LOCAL_ACTIVITY_MARKER),
  upsert('WingmanOutcome'),
  completed(),
];

test('the old shape: five activities with retries, one upsert, a signal from the workflow', () => {
  assert.deepEqual(
    countWork(oldShape),
    counts({
      events: oldShape.length,
      workflowTasks: 7,
      activityTasks: 7,
      visibilityWrites: 3,
      signalsSent: 1,
      // A child's start is its parent's; 5 scheduled + 2 retries, 1 upsert, 1 signal.
      actions: 9,
    }),
    'old shape',
  );
});

test('the new shape: local activities grouped by workflow task, their retries, a signal from outside', () => {
  assert.deepEqual(
    countWork(newShape),
    counts({
      events: newShape.length,
      workflowTasks: 3,
      activityTasks: 2,
      localActivities: 3,
      visibilityWrites: 4,
      // 2 activities, 2 tasks with local activities + 1 retry of one, 1 upsert.
      actions: 6,
    }),
    'new shape',
  );
});

test('failed and timed-out workflow tasks count as tasks', () => {
  // A failed and a timed-out workflow task count as tasks.
  assert.equal(
    countWork([
      childStart(),
      ev(T.EVENT_TYPE_WORKFLOW_TASK_FAILED),
      ev(T.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT),
      ...wft(),
      completed(),
    ]).workflowTasks,
    3,
  );
});

test('a batch across continue-as-new, and the per-worker shares of both shapes', () => {
  // A batch: its first run started by a client, the second by continue-as-new; children, signals, a timer.
  const startChild = () => ev(T.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED);
  const batchRun1 = [
    clientStart(),
    ...wft(),
    ...activity(),
    ...wft(),
    startChild(),
    startChild(),
    ev(T.EVENT_TYPE_TIMER_STARTED),
    signaled(),
    ...wft(),
    ev(T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW),
  ];
  const batchRun2 = [clientStart({ continuedExecutionRunId: 'run-1' }), signaled(), ...wft(), completed()];
  const run1 = countWork(batchRun1);
  const run2 = countWork(batchRun2);
  assert.deepEqual(
    run1,
    counts({
      events: batchRun1.length,
      workflowTasks: 3,
      activityTasks: 1,
      visibilityWrites: 2,
      signalsReceived: 1,
      actions: 7,
    }),
    'batch run 1: start 1, activity 1, two children 2 each, timer 1',
  );
  assert.deepEqual(
    run2,
    counts({ events: batchRun2.length, workflowTasks: 1, visibilityWrites: 2, signalsReceived: 1, actions: 1 }),
    'batch run 2: continue-as-new is a start',
  );
  // A child that continued as new is started by it, not by its parent: one action.
  assert.equal(countWork([childStart({ continuedExecutionRunId: 'r' }), completed()]).actions, 1);

  // Per worker, two workers. Old shape: each child sent its signal, the batch received two: nothing from outside.
  const old = perWorkerWork([countWork(oldShape), countWork(oldShape)], [run1, run2], 2);
  assert.equal(old.child.actions, 9);
  assert.equal(old.parentShare.signalsReceived, 1);
  assert.equal(old.parentShare.actions, (7 + 1) / 2);
  assert.equal(old.total.signalsSent, 1);
  assert.equal(old.total.actions, 9 + 4);
  assert.equal(old.total.events, oldShape.length + (batchRun1.length + batchRun2.length) / 2);
  // New shape: the children sent nothing, the batch received two: one signal per worker from outside workflows.
  const next = perWorkerWork([countWork(newShape), countWork(newShape)], [run1, run2], 2);
  assert.equal(next.child.signalsSent, 0);
  assert.equal(next.parentShare.actions, (7 + 1) / 2 + 1);
  assert.equal(next.total.signalsSent, 1);
  assert.equal(next.total.actions, 6 + 5);
});

test('sampling spreads evenly and takes all when there are few', () => {
  // Sampling: evenly spread, at most the maximum, all when fewer.
  const ids = Array.from({ length: 2500 }, (_, i) => `W${i}`);
  const sample = sampleIds(ids, 1000);
  assert.equal(sample.length, 1000);
  assert.equal(new Set(sample).size, 1000);
  assert.equal(sample[0], 'W0');
  assert.deepEqual(sampleIds(ids.slice(0, 10)), ids.slice(0, 10));
});

test('RSS at the end of each batch run', () => {
  // RSS at each run's end: the last sample before it; the max over all.
  const rss = rssAcrossRuns(
    [0, 2, 4, 6, 8, 10].map((t) => ({ atMs: t * 1000, mb: 100 + t })),
    [
      { startMs: 0, endMs: 5_000 },
      { startMs: 5_000, endMs: 9_500 },
    ],
  );
  assert.deepEqual(rss, { runs: 2, runEndMb: [104, 108], firstRunEndMb: 104, lastRunEndMb: 108, maxMb: 110 });
});

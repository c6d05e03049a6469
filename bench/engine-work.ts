// What a worker costs the Temporal engine, counted from histories: events, workflow tasks,
// activity tasks, local activities, visibility writes, signals and the actions Temporal Cloud would
// bill (https://docs.temporal.io/cloud/actions). Counted from event types only, never from activity
// or workflow names, so the same code reads every shape of the instruction workflow and the bare
// engine's children. `countWork` is pure (bench/engine-work-check.ts checks it); the rest fetches
// histories and turns them into per-worker figures: a child's median beside the parent's total
// divided by the workers.
import type { Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import { at, median } from './history.js';

type Event = temporal.api.history.v1.IHistoryEvent;
type History = temporal.api.history.v1.IHistory;
const T = proto.temporal.api.enums.v1.EventType;

/** The marker the TS SDK (its Rust core) records for a local activity's result. */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';
/** The search attribute patch() upserts: exempt from Cloud actions. */
const CHANGE_VERSION = 'TemporalChangeVersion';

/** One history's engine work. */
export interface WorkCounts {
  events: number;
  /** Workflow tasks that ended (completed, failed or timed out). */
  workflowTasks: number;
  /** Activity tasks dispatched: each scheduled activity, plus each retry. */
  activityTasks: number;
  /** Local activities recorded (their markers). */
  localActivities: number;
  /** Start, each search-attribute upsert or properties change, close. */
  visibilityWrites: number;
  /** Signals this workflow sent (SignalExternalWorkflowExecutionInitiated). */
  signalsSent: number;
  /** Signals this workflow received, from workflows or clients (WorkflowExecutionSignaled). */
  signalsReceived: number;
  /**
   * Cloud actions this history shows, signals received not included (the sender's count has the
   * ones workflows sent; the rest are added per batch: see perWorkerWork). Activity heartbeats, queries
   * and workflow-task heartbeats are actions too but leave nothing in history: not counted.
   */
  actions: number;
}

export const WORK_FIELDS = [
  'events',
  'workflowTasks',
  'activityTasks',
  'localActivities',
  'visibilityWrites',
  'signalsSent',
  'signalsReceived',
  'actions',
] as const satisfies ReadonlyArray<keyof WorkCounts>;

const CLOSED = new Set<number>([
  T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  T.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  T.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  T.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  T.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);

/** No work: what counting starts from. */
export const zeroWork = (): WorkCounts => ({
  events: 0,
  workflowTasks: 0,
  activityTasks: 0,
  localActivities: 0,
  visibilityWrites: 0,
  signalsSent: 0,
  signalsReceived: 0,
  actions: 0,
});

/** Counts one run's history (one run: a continue-as-new chain is several histories). */
export function countWork(events: Event[]): WorkCounts {
  const w = zeroWork();
  w.events = events.length;
  // Local activities recorded in one workflow task are one action: markers follow the task's completion.
  let task = -1;
  const tasksWithMarkers = new Set<number>();
  for (const [i, e] of events.entries()) {
    switch (e.eventType) {
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
        w.visibilityWrites += 1;
        // A child's start is billed on its parent (StartChildWorkflowExecutionInitiated); a client's
        // start or a continue-as-new is billed here.
        const a = e.workflowExecutionStartedEventAttributes;
        if (a?.continuedExecutionRunId || !a?.parentWorkflowExecution) w.actions += 1;
        break;
      }
      case T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        task = i;
        w.workflowTasks += 1;
        // Local activity retries the worker ran within the task, one action each.
        w.actions +=
          e.workflowTaskCompletedEventAttributes?.meteringMetadata?.nonfirstLocalActivityExecutionAttempts ?? 0;
        break;
      case T.EVENT_TYPE_WORKFLOW_TASK_FAILED:
      case T.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
        w.workflowTasks += 1;
        break;
      case T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        w.activityTasks += 1;
        w.actions += 1;
        break;
      case T.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        // Written once, for the last attempt: the attempts before it were retries.
        const retries = Math.max(0, (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1);
        w.activityTasks += retries;
        w.actions += retries;
        break;
      }
      case T.EVENT_TYPE_MARKER_RECORDED:
        if (e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER) {
          w.localActivities += 1;
          tasksWithMarkers.add(task);
        }
        break;
      case T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        w.visibilityWrites += 1;
        const keys = Object.keys(
          e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
        );
        if (!keys.every((k) => k === CHANGE_VERSION)) w.actions += 1;
        break;
      }
      case T.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
        w.visibilityWrites += 1;
        break;
      case T.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
        w.signalsSent += 1;
        w.actions += 1;
        break;
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        w.signalsReceived += 1;
        break;
      case T.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        // The intent to start, and the start.
        w.actions += 2;
        break;
      case T.EVENT_TYPE_TIMER_STARTED:
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
      case T.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
        w.actions += 1;
        break;
      default:
        if (CLOSED.has(e.eventType ?? -1)) w.visibilityWrites += 1;
    }
  }
  w.actions += tasksWithMarkers.size;
  return w;
}

/** Adds counts field by field (a batch's runs into one total). */
export function sumWork(ws: WorkCounts[]): WorkCounts {
  const total = zeroWork();
  for (const w of ws) for (const k of WORK_FIELDS) total[k] += w[k];
  return total;
}

const mapWork = (f: (k: keyof WorkCounts) => number): WorkCounts => {
  const w = zeroWork();
  for (const k of WORK_FIELDS) w[k] = f(k);
  return w;
};

/** One worker's engine work: its own workflow (median of the sampled), its share of the batch's, and the sum. */
export interface WorkPerWorker {
  /** Child histories counted. */
  sampled: number;
  /** Runs of the parent (continue-as-new chain). */
  parentRuns: number;
  child: WorkCounts;
  /**
   * The parent's totals over all its runs ÷ workers. Its actions include the signals it received
   * that no workflow sent (from a client or an activity): one action each.
   */
  parentShare: WorkCounts;
  /** child + parentShare, except signals: those sent per worker, counted once whoever sent them. */
  total: WorkCounts;
  /** The latest end among the sampled children, ms since the epoch (the last child's end when all are sampled). */
  lastChildClosedMs?: number;
}

/** Per-worker figures from every sampled child's counts and every parent run's counts. */
export function perWorkerWork(children: WorkCounts[], parentRuns: WorkCounts[], workers: number): WorkPerWorker {
  const child = mapWork((k) => median(children.map((c) => c[k])));
  const parent = sumWork(parentRuns);
  const share = mapWork((k) => parent[k] / workers);
  // Signals the parent received beyond those the children sent from workflow code came from outside
  // workflows; the sample's mean stands for every child.
  const sentByChildren = children.length ? sumWork(children).signalsSent / children.length : 0;
  const fromOutside = Math.max(0, share.signalsReceived - sentByChildren);
  share.actions += fromOutside;
  const total = mapWork((k) => child[k] + share[k]);
  total.signalsSent = child.signalsSent + share.signalsSent + fromOutside;
  total.signalsReceived = child.signalsReceived + share.signalsReceived;
  return { sampled: children.length, parentRuns: parentRuns.length, child, parentShare: share, total };
}

/** At most `max` ids spread evenly over the list (all of them when there are no more). */
export function sampleIds(ids: string[], max = 1000): string[] {
  if (ids.length <= max) return ids;
  const step = ids.length / max;
  return Array.from({ length: max }, (_, i) => ids[Math.floor(i * step)]!);
}

/** Counts the parent's runs (runHistories) and a sample of its children's histories, read here. */
export async function workOf(
  client: Client,
  parentRuns: History[],
  childWorkflowIds: string[],
  max = 1000,
): Promise<WorkPerWorker> {
  const children: WorkCounts[] = [];
  let lastChildClosedMs = -Infinity;
  for (const id of sampleIds(childWorkflowIds, max)) {
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    children.push(countWork(events));
    const end = events.at(-1);
    if (end) lastChildClosedMs = Math.max(lastChildClosedMs, at(end));
  }
  const runs = parentRuns.map((h) => countWork(h.events ?? []));
  return {
    ...perWorkerWork(children, runs, childWorkflowIds.length),
    lastChildClosedMs: Number.isFinite(lastChildClosedMs) ? lastChildClosedMs : NaN,
  };
}

/** Medians, field by field, of several runs' per-worker figures. */
export function medianWork(runs: WorkPerWorker[]): WorkPerWorker | undefined {
  if (runs.length === 0) return undefined;
  const of = (pick: (r: WorkPerWorker) => WorkCounts) => mapWork((k) => median(runs.map((r) => pick(r)[k])));
  return {
    sampled: median(runs.map((r) => r.sampled)),
    parentRuns: median(runs.map((r) => r.parentRuns)),
    child: of((r) => r.child),
    parentShare: of((r) => r.parentShare),
    total: of((r) => r.total),
  };
}

const ROWS: Array<[string, (w: WorkCounts, side: 'child' | 'share' | 'total') => number]> = [
  ['history events', (w) => w.events],
  ['workflow tasks', (w) => w.workflowTasks],
  ['activity tasks (with retries)', (w) => w.activityTasks],
  ['local activities', (w) => w.localActivities],
  ['visibility writes', (w) => w.visibilityWrites],
  // A child's column shows what it sent, the batch's what it received, the total each signal once.
  ['signals (child sent; batch received)', (w, side) => (side === 'share' ? w.signalsReceived : w.signalsSent)],
  ['Cloud actions', (w) => w.actions],
];

/** The "Engine work per worker" table, as lines: Wingman's columns, and the bare engine's beside them when run. */
export function engineWorkTable(wingman: WorkPerWorker | undefined, engine: WorkPerWorker | undefined): string[] {
  const fmt = (x: number) => (Number.isFinite(x) ? (Number.isInteger(x) ? String(x) : x.toFixed(2)) : 'n/a');
  const sides = (w: WorkPerWorker | undefined, f: (typeof ROWS)[number][1]) =>
    w ? [fmt(f(w.child, 'child')), fmt(f(w.parentShare, 'share')), fmt(f(w.total, 'total'))] : [];
  const head = [
    '',
    ...(wingman ? ['instruction wf', 'batch share', 'total'] : []),
    ...(engine ? ['engine child', 'parent share', 'engine total'] : []),
  ];
  const body = ROWS.map(([label, f]) => [`  ${label}`, ...sides(wingman, f), ...sides(engine, f)]);
  const rows = [head, ...body];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('   ')
      .trimEnd();
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const about = [
    wingman && `Wingman: ${wingman.sampled} instruction histories, ${plural(wingman.parentRuns, 'batch run')}`,
    engine && `engine: ${engine.sampled} child histories, ${plural(engine.parentRuns, 'parent run')}`,
  ].filter(Boolean);
  return [
    "Engine work per worker (medians of child histories; share = the parent's runs' totals ÷ workers)",
    `  ${about.join('; ')}`,
    ...rows.map(line),
    '  (actions: Temporal Cloud rules; activity heartbeats and queries leave no history and are not counted)',
  ];
}

// Where a batch's time went, read from Temporal's own histories (every event carries the time
// the server recorded it): for the worker workflows, the time each activity waited in its task
// queue and the time it ran, and the same for workflow tasks; for the batch workflow, how long a
// finished worker's slot stayed empty before the next child was started, and how busy its
// workflow tasks kept it.
import type { Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import { CompressionCodec } from '../src/temporal/codec.js';

const CAUSE = proto.temporal.api.enums.v1.WorkflowTaskFailedCause as unknown as Record<number, string>;
const TIMEOUT_TYPE = proto.temporal.api.enums.v1.TimeoutType as unknown as Record<number, string>;

type Event = temporal.api.history.v1.IHistoryEvent;
type History = temporal.api.history.v1.IHistory;

/** A worker's end reaches the batch by this signal (`workerDone` before the workflows were renamed). */
const DONE_SIGNALS = new Set(['instructionDone', 'workerDone']);

export const at = (e: Event): number => {
  const t = e.eventTime;
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : NaN;
};

export interface Dist {
  n: number;
  median: number;
  p90: number;
  max: number;
  /** Sum, ms. */
  total: number;
}

export function dist(xs: number[]): Dist {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN);
  return {
    n: s.length,
    median: q(0.5),
    p90: q(0.9),
    max: s.length ? s[s.length - 1]! : NaN,
    total: s.reduce((a, b) => a + b, 0),
  };
}

export function median(xs: number[]): number {
  return dist(xs).median;
}

export interface ChildProfile {
  sampled: number;
  /** A worker workflow's first event to its last, ms. */
  wallMs: Dist;
  /** Per activity type: waiting in the task queue (scheduled → started) and running (started → completed). */
  activities: Record<string, { queueMs: Dist; runMs: Dist }>;
  workflowTasks: { perWorker: number; queueMs: Dist; runMs: Dist };
  /** Per worker, ms: how its wall time splits (medians of each part). */
  split: {
    activityRun: number;
    activityQueue: number;
    workflowTaskQueue: number;
    workflowTaskRun: number;
    other: number;
  };
}

export interface ParentProfile {
  runs: number;
  events: number;
  workflowTasks: { count: number; queueMs: Dist; runMs: Dist };
  /**
   * A worker's done signal recorded → the end of the first batch workflow task that saw it (and
   * started whatever it freed a slot for), ms: how long the batch takes to react.
   */
  reactionMs: Dist;
  /** Child start initiated → the child started (server side), ms. */
  childStartMs: Dist;
}

function profileEvents(events: Event[]) {
  const scheduled = new Map<number, { type: string; at: number }>();
  const started = new Map<number, number>();
  const acts: Array<{ type: string; queue: number; run: number }> = [];
  const wftSched = new Map<number, number>();
  const wftStart = new Map<number, number>();
  const wfts: Array<{ queue: number; run: number }> = [];
  for (const e of events) {
    const id = Number(e.eventId);
    if (e.activityTaskScheduledEventAttributes)
      scheduled.set(id, { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at: at(e) });
    else if (e.activityTaskStartedEventAttributes) started.set(id, at(e));
    else if (
      e.activityTaskCompletedEventAttributes ||
      e.activityTaskFailedEventAttributes ||
      e.activityTaskTimedOutEventAttributes
    ) {
      const a =
        e.activityTaskCompletedEventAttributes ??
        e.activityTaskFailedEventAttributes ??
        e.activityTaskTimedOutEventAttributes!;
      const s = scheduled.get(Number(a.scheduledEventId));
      const st = started.get(Number(a.startedEventId));
      if (s && st !== undefined) acts.push({ type: s.type, queue: st - s.at, run: at(e) - st });
    } else if (e.workflowTaskScheduledEventAttributes) wftSched.set(id, at(e));
    else if (e.workflowTaskStartedEventAttributes) {
      wftStart.set(id, at(e));
      const s = wftSched.get(Number(e.workflowTaskStartedEventAttributes.scheduledEventId));
      if (s !== undefined) wfts.push({ queue: at(e) - s, run: NaN });
    } else if (
      e.workflowTaskCompletedEventAttributes ||
      e.workflowTaskFailedEventAttributes ||
      e.workflowTaskTimedOutEventAttributes
    ) {
      const a =
        e.workflowTaskCompletedEventAttributes ??
        e.workflowTaskFailedEventAttributes ??
        e.workflowTaskTimedOutEventAttributes!;
      const st = wftStart.get(Number(a.startedEventId));
      const last = wfts[wfts.length - 1];
      if (st !== undefined && last) last.run = at(e) - st;
    }
  }
  return { acts, wfts };
}

/** Profiles `sample` worker workflows spread evenly over the batch. */
export async function profileChildren(
  client: Client,
  batchId: string,
  workerIds: string[],
  sample = 40,
): Promise<ChildProfile> {
  const step = Math.max(1, Math.floor(workerIds.length / sample));
  const ids = workerIds.filter((_, i) => i % step === 0).slice(0, sample);
  const walls: number[] = [];
  const byType = new Map<string, { queue: number[]; run: number[] }>();
  const wftQueue: number[] = [];
  const wftRun: number[] = [];
  const wftCount: number[] = [];
  const split = {
    activityRun: [] as number[],
    activityQueue: [] as number[],
    workflowTaskQueue: [] as number[],
    workflowTaskRun: [] as number[],
    other: [] as number[],
  };
  for (const id of ids) {
    const h = await client.workflow.getHandle(`batch-${batchId}/${id}`).fetchHistory();
    const events = h.events ?? [];
    if (events.length === 0) continue;
    const wall = at(events[events.length - 1]!) - at(events[0]!);
    walls.push(wall);
    const { acts, wfts } = profileEvents(events);
    for (const a of acts) {
      const d = byType.get(a.type) ?? { queue: [], run: [] };
      d.queue.push(a.queue);
      d.run.push(a.run);
      byType.set(a.type, d);
    }
    wftQueue.push(...wfts.map((w) => w.queue));
    wftRun.push(...wfts.map((w) => w.run));
    wftCount.push(wfts.length);
    const sum = (xs: number[]) => xs.filter(Number.isFinite).reduce((a, b) => a + b, 0);
    const parts = {
      activityRun: sum(acts.map((a) => a.run)),
      activityQueue: sum(acts.map((a) => a.queue)),
      workflowTaskQueue: sum(wfts.map((w) => w.queue)),
      workflowTaskRun: sum(wfts.map((w) => w.run)),
    };
    for (const [k, v] of Object.entries(parts)) split[k as keyof typeof parts].push(v);
    split.other.push(wall - Object.values(parts).reduce((a, b) => a + b, 0));
  }
  return {
    sampled: walls.length,
    wallMs: dist(walls),
    activities: Object.fromEntries([...byType].map(([t, d]) => [t, { queueMs: dist(d.queue), runMs: dist(d.run) }])),
    workflowTasks: { perWorker: median(wftCount), queueMs: dist(wftQueue), runMs: dist(wftRun) },
    split: Object.fromEntries(Object.entries(split).map(([k, v]) => [k, median(v)])) as ChildProfile['split'],
  };
}

/** Profiles every run of the batch workflow (continue-as-new makes several). */
export async function profileParent(client: Client, batchId: string): Promise<ParentProfile> {
  const workflowId = `batch-${batchId}`;
  const runIds: string[] = [];
  for await (const e of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runIds.push(e.runId);
  const wftQueue: number[] = [];
  const wftRun: number[] = [];
  const reaction: number[] = [];
  const childStart: number[] = [];
  let events = 0;
  for (const runId of runIds.reverse()) {
    const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const evs = h.events ?? [];
    events += evs.length;
    const { wfts } = profileEvents(evs);
    wftQueue.push(...wfts.map((w) => w.queue));
    wftRun.push(...wfts.map((w) => w.run));
    const initiated = new Map<number, number>();
    // Signals not yet seen by a workflow task; a task started after them sees them.
    let waiting: number[] = [];
    let seen: number[] = [];
    for (const e of evs) {
      if (DONE_SIGNALS.has(e.workflowExecutionSignaledEventAttributes?.signalName ?? '')) waiting.push(at(e));
      else if (e.workflowTaskStartedEventAttributes) {
        seen = waiting;
        waiting = [];
      } else if (e.workflowTaskCompletedEventAttributes) {
        for (const t of seen) reaction.push(at(e) - t);
        seen = [];
      } else if (e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes) {
        waiting = [...seen, ...waiting];
        seen = [];
      }
      if (e.startChildWorkflowExecutionInitiatedEventAttributes) initiated.set(Number(e.eventId), at(e));
      if (e.childWorkflowExecutionStartedEventAttributes) {
        const i = initiated.get(Number(e.childWorkflowExecutionStartedEventAttributes.initiatedEventId));
        if (i !== undefined) childStart.push(at(e) - i);
      }
    }
  }
  return {
    runs: runIds.length,
    events,
    workflowTasks: { count: wftRun.length, queueMs: dist(wftQueue), runMs: dist(wftRun) },
    reactionMs: dist(reaction),
    childStartMs: dist(childStart),
  };
}

export interface RunDiagnosis {
  runId: string;
  status: string;
  events: number;
  /** Children whose start was initiated in this run and never confirmed started. */
  initiatedNeverStarted: number;
  workerDoneSignals: number;
  /**
   * Workflow tasks the server rejected or the worker failed, by cause (e.g. UNHANDLED_COMMAND: new events arrived
   * while the task continued as new).
   */
  workflowTaskFailures: Record<string, number>;
  /** The run's last stretch without any child started: from the last child start to the run's end, ms. */
  tailWithoutStartsMs: number;
  /** From the run's input: runs before it, and the workers it was told were still running. */
  inputRuns: number | null;
  inputRunning: number | null;
}

/**
 * Each run of a batch workflow, oldest first: how many children it initiated but never saw start
 * (a run that closes right after initiating them never starts them), and what it inherited.
 */
export async function diagnoseRuns(client: Client, batchId: string): Promise<RunDiagnosis[]> {
  const { defaultPayloadConverter } = await import('@temporalio/common');
  const workflowId = `batch-${batchId}`;
  const runs: Array<{ runId: string; status: string }> = [];
  for await (const e of client.workflow.list({ query: `WorkflowId = "${workflowId}"` }))
    runs.push({ runId: e.runId, status: e.status.name });
  const out: RunDiagnosis[] = [];
  for (const { runId, status } of runs.reverse()) {
    const evs = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    const initiated = new Set<number>();
    let signals = 0;
    const failures: Record<string, number> = {};
    let lastStart = at(evs[0]!);
    for (const e of evs) {
      const f = e.workflowTaskFailedEventAttributes;
      if (f) {
        const cause = (
          typeof f.cause === 'number' ? (CAUSE[f.cause] ?? String(f.cause)) : String(f.cause ?? 'unknown')
        ).replace(/^WORKFLOW_TASK_FAILED_CAUSE_/, '');
        failures[cause] = (failures[cause] ?? 0) + 1;
      }
      const timedOut = e.workflowTaskTimedOutEventAttributes;
      if (timedOut) {
        // START_TO_CLOSE: the worker took too long; SCHEDULE_TO_START: nobody picked it up from the sticky queue
        // in time.
        const timeoutType = String(TIMEOUT_TYPE[Number(timedOut.timeoutType)] ?? timedOut.timeoutType);
        const kind = `TIMED_OUT_${timeoutType.replace(/^TIMEOUT_TYPE_/, '')}`;
        failures[kind] = (failures[kind] ?? 0) + 1;
      }
      if (e.childWorkflowExecutionStartedEventAttributes) lastStart = at(e);
      if (e.startChildWorkflowExecutionInitiatedEventAttributes) initiated.add(Number(e.eventId));
      const started =
        e.childWorkflowExecutionStartedEventAttributes ?? e.startChildWorkflowExecutionFailedEventAttributes;
      if (started) initiated.delete(Number(started.initiatedEventId));
      if (DONE_SIGNALS.has(e.workflowExecutionSignaledEventAttributes?.signalName ?? '')) signals++;
    }
    let inputRuns: number | null = null;
    let inputRunning: number | null = null;
    try {
      const payload = evs[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      const [plain] = payload ? await new CompressionCodec().decode([payload]) : [];
      const input = plain
        ? defaultPayloadConverter.fromPayload<{ state?: { runs: number; running: string[] } }>(plain)
        : undefined;
      inputRuns = input?.state?.runs ?? 0;
      inputRunning = input?.state?.running.length ?? 0;
    } catch {
      // an input this code does not know
    }
    out.push({
      runId,
      status,
      events: evs.length,
      initiatedNeverStarted: initiated.size,
      workerDoneSignals: signals,
      workflowTaskFailures: failures,
      tailWithoutStartsMs: evs.length ? at(evs[evs.length - 1]!) - lastStart : 0,
      inputRuns,
      inputRunning,
    });
  }
  return out;
}

export interface HistorySizes {
  /** Instruction workflows measured (every one of the batch). */
  workflows: number;
  /** A worker's history as the server stores it (payloads as encoded by the codec), bytes. */
  bytes: { median: number; p99: number; max: number };
  events: { median: number; p99: number; max: number };
}

const quantiles = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN);
  return { median: q(0.5), p99: q(0.99), max: s.length ? s[s.length - 1]! : NaN };
};

/** The size of every instruction workflow's history of the batch: what each worker costs the server's store. */
export async function historySizes(client: Client, batchId: string, workerIds: string[]): Promise<HistorySizes> {
  const bytes: number[] = [];
  const events: number[] = [];
  for (const id of workerIds) {
    const h = await client.workflow.getHandle(`batch-${batchId}/${id}`).fetchHistory();
    bytes.push(proto.temporal.api.history.v1.History.encode(h).finish().length);
    events.push(h.events?.length ?? 0);
  }
  return { workflows: bytes.length, bytes: quantiles(bytes), events: quantiles(events) };
}

/**
 * Every run of a workflow id, oldest first, followed from the newest back along continue-as-new (a
 * run's start event names the run before it): from the histories themselves, not from visibility,
 * which may not list the last run yet.
 */
export async function runHistories(client: Client, workflowId: string): Promise<History[]> {
  const runs: History[] = [];
  let runId: string | undefined;
  do {
    const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.push(h);
    runId = h.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  } while (runId);
  return runs.reverse();
}

/**
 * The window a parent kept children running, over all its runs: its first child started → its last
 * run closed, ms since the epoch. Wingman's batch and the bare engine's parent are timed alike.
 */
export function childWindow(runs: History[]): { firstChildStartMs: number; closedMs: number } {
  const events = runs.flatMap((h) => h.events ?? []);
  const first = events.find((e) => e.childWorkflowExecutionStartedEventAttributes);
  const last = events.at(-1);
  return { firstChildStartMs: first ? at(first) : NaN, closedMs: last ? at(last) : NaN };
}

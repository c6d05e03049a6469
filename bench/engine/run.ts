// One run of the bare engine beside Wingman's throughput run: a fresh dev server started exactly as
// Wingman's is (procs.ts startDevServer: SQLite with WAL), the engine's own worker process
// (bench/engine/worker.ts), the parent workflow of bench/engine/workflows.ts started by a client here.
// Timed from the histories like Wingman's batch (first child started → parent closed), its CPU taken
// from /proc like Wingman's processes, and its children's engine work counted like Wingman's workers.
import { Client, Connection } from '@temporalio/client';
import path from 'node:path';
import { workOf, type WorkPerWorker } from '../engine-work.js';
import { childWindow, runHistories } from '../history.js';
import { childEnv, machineCpu, startDevServer, startWorker } from '../procs.js';
import { ENGINE_TASK_QUEUE } from './queue.js';
import type { engineParent } from './workflows.js';

export interface EngineRun {
  name: string;
  children: number;
  concurrency: number;
  /** The parent's first child started → its last run closed, ms. */
  windowMs: number;
  childrenPerSecond: number;
  /** CPU over the run (start → result), s; peak RSS, MB. */
  worker: { peakRssMb: number; cpuS: number } | null;
  server: { peakRssMb: number; cpuS: number } | null;
  machine: { busyS: number; utilization: number };
  /** Runs of the parent (it continues as new on a large history, as Wingman's batch does). */
  parentRuns: number;
  work?: WorkPerWorker;
  error?: string;
}

export async function engineRun(
  name: string,
  o: { dir: string; children: number; concurrency: number; workflowId: string; log: (s: string) => void },
): Promise<EngineRun> {
  const server = await startDevServer({ dbFile: path.join(o.dir, 'temporal.db') });
  const worker = await startWorker({
    script: 'bench/engine/worker.ts',
    env: childEnv({ TEMPORAL_ADDRESS: server.address }),
  });
  const run: EngineRun = {
    name,
    children: o.children,
    concurrency: o.concurrency,
    windowMs: NaN,
    childrenPerSecond: NaN,
    worker: null,
    server: null,
    machine: { busyS: NaN, utilization: NaN },
    parentRuns: 0,
  };
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection });
    const cpu0 = { worker: worker.stats()?.cpuS ?? 0, server: server.stats()?.cpuS ?? 0, machine: machineCpu() };
    const handle = await client.workflow.start<typeof engineParent>('engineParent', {
      taskQueue: ENGINE_TASK_QUEUE,
      workflowId: o.workflowId,
      args: [{ children: o.children, concurrency: o.concurrency }],
    });
    // A run that stops making progress would otherwise hold the bench forever.
    const limitMs = Math.max(600_000, o.children * 500);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the engine parent did not end within ${limitMs / 1000} s`)), limitMs);
    });
    try {
      await Promise.race([handle.result(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    const [w, s, m] = [worker.stats(), server.stats(), machineCpu()];
    run.worker = w && { peakRssMb: w.peakRssMb, cpuS: w.cpuS - cpu0.worker };
    run.server = s && { peakRssMb: s.peakRssMb, cpuS: s.cpuS - cpu0.server };
    run.machine = {
      busyS: m.busyS - cpu0.machine.busyS,
      utilization: (m.busyS - cpu0.machine.busyS) / (m.totalS - cpu0.machine.totalS),
    };
    const runs = await runHistories(client, o.workflowId);
    const window = childWindow(runs);
    run.parentRuns = runs.length;
    run.windowMs = window.closedMs - window.firstChildStartMs;
    run.childrenPerSecond = o.children / (run.windowMs / 1000);
    o.log(`${name}: ${o.children} children in ${(run.windowMs / 1000).toFixed(1)} s; counting their engine work`);
    const ids = Array.from({ length: o.children }, (_, n) => `${o.workflowId}/${n}`);
    run.work = await workOf(client, runs, ids);
  } catch (err) {
    run.error = (err as Error).message;
    o.log(`${name}: ${run.error}`);
  } finally {
    await connection.close();
    await worker.stop(30_000);
    await server.stop();
  }
  return run;
}

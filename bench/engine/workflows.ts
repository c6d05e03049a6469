// The bare engine app the bench runs beside Wingman: a parent that keeps `concurrency` children
// running (a sliding window: one ends, the next starts) until `children` have run, each child three
// no-op activities in sequence. Nothing else, so its rate is the ceiling for this machine and server.
import { condition, continueAsNew, executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type * as activities from './activities.js';

const { noop } = proxyActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

export interface EngineParentInput {
  children: number;
  concurrency: number;
  /** Children started by the runs before this one (continue-as-new). */
  started?: number;
  /** Continue as new past this many events: by default where Wingman's batch does; lower to check the chain. */
  historyEvents?: number;
}

export async function engineChild(): Promise<void> {
  await noop();
  await noop();
  await noop();
}

export async function engineParent(input: EngineParentInput): Promise<number> {
  const { workflowId } = workflowInfo();
  let started = input.started ?? 0;
  let running = 0;
  let failed = 0;
  const run = async (n: number) => {
    running += 1;
    try {
      await executeChild(engineChild, { workflowId: `${workflowId}/${n}` });
    } catch {
      failed += 1;
    } finally {
      running -= 1;
    }
  };
  const limit = input.historyEvents ?? 8_000;
  const large = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > limit;
  while (started < input.children && !large()) {
    if (running < input.concurrency) void run(started++);
    else await condition(() => running < input.concurrency);
  }
  // The children report to this run by their results: let them end before continuing as new.
  await condition(() => running === 0);
  if (started < input.children) await continueAsNew<typeof engineParent>({ ...input, started });
  if (failed > 0) throw new Error(`${failed} engine children failed`);
  return started;
}

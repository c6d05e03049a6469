// How children of a batch ended, asked of Temporal when the batch did not hear from them: a
// child started by an earlier run of the batch (before continue-as-new) that was terminated, or
// failed on its own code, never signals, and no run of the batch watches its result.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { instructionWorkflow } from '../workflows/instruction/workflow.js';
import { instructionWorkflowId } from '../workflows/batch/messages.js';
import type { ChildCheckActivities, ChildCheckRequest, ClosedChild } from './types.js';

/** Lookups at once: describe is cheap, but 2,000 running children should not open 2,000 calls. */
const PARALLEL = 20;

const none = { costUsd: 0, tokens: { prompt: 0, completion: 0 } };

async function checkOne(req: ChildCheckRequest, id: string): Promise<ClosedChild | null> {
  const handle = Context.current().client.workflow.getHandle<typeof instructionWorkflow>(
    instructionWorkflowId(req.batchId, id),
  );
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      return { id, outcome: 'error', ...none, reason: 'worker workflow not found' };
    throw err;
  }
  if (status === 'RUNNING') {
    if (!req.terminate) return null;
    await handle.terminate(req.terminate);
    return { id, outcome: 'skipped', ...none, reason: `terminated: ${req.terminate}` };
  }
  if (status === 'COMPLETED') {
    const r = await handle.result();
    return { id, outcome: r.outcome, costUsd: r.costUsd, tokens: r.tokens, reason: null };
  }
  // Cancelled by an abort: the batch counts it skipped, as when it says so itself.
  if (status === 'CANCELLED') return { id, outcome: 'skipped', ...none, reason: 'worker workflow cancelled' };
  return {
    id,
    outcome: 'error',
    ...none,
    reason: `worker workflow ${status.toLowerCase().replace(/_/g, ' ')} without reporting back`,
  };
}

export async function checkChildren(req: ChildCheckRequest): Promise<ClosedChild[]> {
  const closed: ClosedChild[] = [];
  for (let k = 0; k < req.ids.length; k += PARALLEL) {
    const found = await Promise.all(req.ids.slice(k, k + PARALLEL).map((id) => checkOne(req, id)));
    closed.push(...found.filter((c): c is ClosedChild => c !== null));
    Context.current().heartbeat(k);
  }
  return closed;
}

export const childCheckActivities: ChildCheckActivities = { checkChildren };

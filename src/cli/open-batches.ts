// The batches still open on a namespace: start-batch names them (it does not serve them unless
// asked), and `npm run batch -- list` shows them with their progress.
import type { Client } from '@temporalio/client';
import { BATCH_ID } from '../temporal/search-attributes.js';

export interface OpenBatch {
  batchId: string;
  workflowId: string;
  startTime: Date;
  taskQueue: string;
}

export async function openBatches(client: Client): Promise<OpenBatch[]> {
  const out: OpenBatch[] = [];
  const query = `WorkflowType = "batchWorkflow" AND ExecutionStatus = "Running"`;
  for await (const w of client.workflow.list({ query })) {
    const id = w.searchAttributes?.[BATCH_ID.name]?.[0];
    out.push({
      batchId: typeof id === 'string' ? id : w.workflowId.replace(/^batch-/, ''),
      workflowId: w.workflowId,
      startTime: w.startTime,
      taskQueue: w.taskQueue,
    });
  }
  return out.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
}

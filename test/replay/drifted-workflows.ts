// A deliberately incompatible version of the worker workflow: it sleeps before its first
// activity. The replay test proves it would catch such a deploy.
import { sleep } from '@temporalio/workflow';
import { workerWorkflow as current } from '../../src/workflows/worker.js';
import type { WorkerInput } from '../../src/schemas.js';

export { batchWorkflow } from '../../src/workflows/batch.js';

export async function workerWorkflow(input: WorkerInput) {
  await sleep(1);
  return current(input);
}

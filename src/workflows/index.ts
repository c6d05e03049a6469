// The workflows the worker registers.
export { batchWorkflow } from './batch.js';
export { workerWorkflow } from './worker.js';

// The workflows the worker registers.
export { batchWorkflow } from './batch/workflow.js';
export { instructionWorkflow } from './instruction/workflow.js';

// A deliberately incompatible version of the instruction workflow: it sleeps before its first
// activity. The replay test proves it would catch such a deploy.
import { sleep } from '@temporalio/workflow';
import { instructionWorkflow as current } from '../../src/workflows/instruction/workflow.js';
import type { InstructionInput } from '../../src/schemas.js';

export { batchWorkflow } from '../../src/workflows/batch/workflow.js';

export async function instructionWorkflow(input: InstructionInput) {
  await sleep(1);
  return current(input);
}

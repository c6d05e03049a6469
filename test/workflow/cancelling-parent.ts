// A stand-in for the batch in the instruction workflow tests: it starts one instruction as its
// child, cancels it when told to (as an aborting batch does), and returns the end the child
// signalled back, which is what a batch counts.
import {
  ParentClosePolicy,
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  setHandler,
  startChild,
} from '@temporalio/workflow';
import type { InstructionDone, InstructionInput } from '../../src/schemas.js';
import { instructionDoneSignal } from '../../src/workflows/batch/messages.js';
import { instructionWorkflow } from '../../src/workflows/instruction/workflow.js';

export { instructionWorkflow };

export const cancelChildSignal = defineSignal('cancelChild');

export async function cancellingParent(input: InstructionInput): Promise<InstructionDone> {
  let done: InstructionDone | undefined;
  let cancel = false;
  setHandler(instructionDoneSignal, (d) => {
    done = d;
  });
  setHandler(cancelChildSignal, () => {
    cancel = true;
  });
  const child = await startChild(instructionWorkflow, {
    args: [input],
    workflowId: `${input.batchId}/${input.workerId}`,
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
  await condition(() => cancel || done !== undefined);
  if (!done) await getExternalWorkflowHandle(child.workflowId).cancel();
  await condition(() => done !== undefined);
  return done!;
}

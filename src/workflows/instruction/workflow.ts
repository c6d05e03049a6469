// One worker instruction, as named steps (steps.ts) that each say what happens next:
// begin → generate (provider chain, generate.ts) → check (reject a guide, else write the files,
// run the tests, check the success criteria) → done; a guide, failing tests or unmet criteria go
// back through `retry` with feedback. Then one finish: the search attributes, and the result, the
// retrospective and the word to the batch in one local activity. The prompt, the generated code
// and the test log cross the activity boundary as Blobs (inline and compressed, or a claim check).
import {
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { InstructionInput, InstructionResult, Outcome } from '../../schemas.js';
import { OUTCOME, PROVIDER } from '../../temporal/search-attributes.js';
import { instructionDoneSignal } from '../batch/messages.js';
import { describe } from './generate.js';
import { InstructionSteps, type Done, type Next } from './steps.js';

export async function instructionWorkflow(input: InstructionInput): Promise<InstructionResult> {
  const steps = new InstructionSteps(input, Date.now());
  let end: Done;
  try {
    end = await runSteps(steps);
  } catch (err) {
    if (isCancellation(err)) {
      // The batch aborted: say so (the batch counts it skipped), then end cancelled.
      await CancellationScope.nonCancellable(() => tellBatch(input, 'skipped', steps.result));
      throw err;
    }
    end = { next: 'done', outcome: 'error', error: describe(err) };
  }
  return finish(input, steps, end);
}

async function runSteps(steps: InstructionSteps): Promise<Done> {
  let next: Next = await steps.begin();
  while (next.next !== 'done') {
    switch (next.next) {
      case 'generate':
        next = await steps.generate(next.promptRef, next.feedback);
        break;
      case 'check':
        next = await steps.check(next.generation);
        break;
      case 'retry':
        next = await steps.retry(next.feedback);
        break;
    }
  }
  return next;
}

/**
 * The one end of every path. The search attributes are set here only, in one upsert (each is a
 * history event and a visibility write). Recording the result tells the batch; when recording
 * fails for good the batch is told from here, so its slot is never held, and the run fails
 * rather than record a second, different end.
 */
async function finish(input: InstructionInput, steps: InstructionSteps, end: Done): Promise<InstructionResult> {
  const result = steps.end(end.outcome, end.error, Date.now());
  upsertSearchAttributes([
    { key: OUTCOME, value: result.outcome },
    ...(result.provider ? [{ key: PROVIDER, value: result.provider }] : []),
  ]);
  try {
    await steps.record();
  } catch (err) {
    await CancellationScope.nonCancellable(() => tellBatch(input, result.outcome, result));
    throw err;
  }
  return result;
}

/** Tells the batch, whichever run of it is current, that this worker has ended. */
function tellBatch(input: InstructionInput, outcome: Outcome, result: InstructionResult): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent) return Promise.resolve();
  return getExternalWorkflowHandle(parent.workflowId).signal(instructionDoneSignal, {
    id: input.workerId,
    outcome,
    costUsd: result.costUsd,
    tokens: result.tokens,
  });
}

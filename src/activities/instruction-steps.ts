// An instruction's workspace work in three activities. Each activity a workflow schedules costs
// the engine a workflow task, three history events and a trip through a task queue; with an
// instant LLM that is what limits throughput (README, Performance). So the quick steps run as
// local activities in the workflow's own worker, which is on the workspace host (begin, a
// regeneration's prompt, finish), and the one step that runs generated code (check) is one
// activity on the workspace queue: its heartbeat notices a dead worker, and a guide costs no
// task of its own. Finish tells the batch itself, by signal through the worker's client, so the
// instruction spends no workflow task on it. Each step is made of the workspace's single-purpose
// functions (load, prompt, inspect, write, test, criteria, record, retrospective).
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { instructionDoneSignal } from '../workflows/batch/messages.js';
import { criteriaRequestFor, promptRequestFor, retrospectiveOf } from '../workflows/instruction/requests.js';
import { BeginRequest, CheckRequest, FinishRequest, type InstructionResult } from '../schemas.js';
import type {
  CheckActivities,
  InstructionLocalActivities,
  ManifestActivities,
  ReportActivities,
  WorkspaceActivities,
} from './types.js';
import { deterministic } from './workspace.js';

type Single = WorkspaceActivities & Pick<ManifestActivities, 'loadEntry'> & Pick<ReportActivities, 'recordResult'>;

/** Tells the batch (its newest run) that an instruction ended. */
export type TellBatch = (batchWorkflowId: string, result: InstructionResult) => Promise<void>;

/** The steps the instruction workflow runs as local activities, in its own worker. */
export function localSteps(a: Single, tell: TellBatch = signalBatch): InstructionLocalActivities {
  return {
    /** The manifest entry and the first prompt. */
    beginInstruction: deterministic(async (input) => {
      const req = BeginRequest.parse(input);
      const entry = await a.loadEntry({ manifest: req.manifest, workerId: req.workerId });
      const prompt = await a.preparePrompt(promptRequestFor(entry, req, null));
      return { entry, prompt };
    }),

    /** A regeneration's prompt, carrying what went wrong. */
    preparePrompt: a.preparePrompt,

    /**
     * The result first (the report needs it; a retry rewrites the same file), then the
     * retrospective, which never throws (mem0 down means a local copy), then the batch is told.
     * A retry after the signal went out sends it again: the batch ignores a second word.
     */
    finishInstruction: deterministic(async (input) => {
      const req = FinishRequest.parse(input);
      await a.recordResult({ reportPath: req.reportPath, result: req.result });
      await a.storeRetrospective(retrospectiveOf(req.batchId, req.result));
      if (req.batchWorkflowId) await tell(req.batchWorkflowId, req.result);
    }),
  };
}

/** The step that runs generated code, on the workspace queue. */
export function checkStep(a: Single): CheckActivities {
  return {
    /** A guide goes back at once; code is written, tested and, when the tests pass, held to its criteria. */
    checkOutput: deterministic(async (input) => {
      const req = CheckRequest.parse(input);
      const inspection = await a.inspectOutput({ outputRef: req.outputRef, deliverables: req.deliverables });
      if (inspection.guide) return { ...inspection, written: [], tests: null, criteria: null };
      const { written } = await a.writeDeliverables({ workspace: req.workspace, files: inspection.files });
      const { workerId, workspace, pythonRoot, commands } = req;
      const tests = await a.runTests({ workerId, workspace, pythonRoot, commands });
      if (!tests.ok) return { ...inspection, written, tests, criteria: null };
      const criteria = await a.checkCriteria(criteriaRequestFor(req, tests));
      return { ...inspection, written, tests, criteria };
    }),
  };
}

async function signalBatch(batchWorkflowId: string, result: InstructionResult): Promise<void> {
  const { id, outcome, costUsd, tokens } = result;
  try {
    await Context.current()
      .client.workflow.getHandle(batchWorkflowId)
      .signal(instructionDoneSignal, { id, outcome, costUsd, tokens });
  } catch (err) {
    // The batch already closed (an abort that ended it): nobody is waiting to hear.
    if (err instanceof WorkflowNotFoundError) return;
    throw err;
  }
}

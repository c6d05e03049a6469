// The worker workflow's four workspace steps, as the activities that do them. Worker workflows
// started before the steps were merged call the single-purpose activities in their old order;
// `patched(MERGED_STEPS)` tells the two apart, so those histories still replay. Remove the
// separate variant (and deprecatePatch) once no batch started before the merge is running.
import { isCancellation, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { ManifestActivities, ReportActivities, InstructionStepActivities, WorkspaceActivities } from '../../activities/types.js';
import { criteriaRequestFor, promptRequestFor, retrospectiveOf } from './requests.js';
import type { AcceptRequest, Acceptance, BeginRequest, Begun, FinishRequest, VerifyRequest, Verification } from '../../schemas.js';

export const MERGED_STEPS = 'merged-worker-steps';

export interface InstructionSteps {
  begin(req: BeginRequest): Promise<Begun>;
  accept(req: AcceptRequest): Promise<Acceptance>;
  verify(req: VerifyRequest): Promise<Verification>;
  finish(req: FinishRequest): Promise<void>;
}

type Workspace = ActivityInterfaceFor<WorkspaceActivities & InstructionStepActivities & ManifestActivities & ReportActivities>;
type Tests = ActivityInterfaceFor<WorkspaceActivities & InstructionStepActivities>;

/** One activity per step. `tests` is the proxy with the long timeout and the heartbeat. */
export function mergedSteps(workspace: Workspace, tests: Tests): InstructionSteps {
  return {
    begin: (req) => workspace.beginWorker(req),
    accept: (req) => workspace.acceptOutput(req),
    verify: (req) => tests.verifyOutput(req),
    finish: (req) => workspace.finishWorker(req),
  };
}

/** The same steps as the worker workflows started before the merge ran them. */
export function separateSteps(workspace: Workspace, tests: Tests): InstructionSteps {
  return {
    async begin(req) {
      const entry = await workspace.loadEntry({ manifest: req.manifest, workerId: req.workerId });
      const prompt = await workspace.preparePrompt(promptRequestFor(entry, req, null));
      return { entry, prompt };
    },
    async accept(req) {
      const inspection = await workspace.inspectOutput({ outputRef: req.outputRef, deliverables: req.deliverables });
      if (inspection.guide) return { ...inspection, written: [] };
      const { written } = await workspace.writeDeliverables({ workspace: req.workspace, files: inspection.files });
      return { ...inspection, written };
    },
    async verify(req) {
      const run = await tests.runTests({ workerId: req.workerId, workspace: req.workspace, pythonRoot: req.pythonRoot, commands: req.commands });
      if (!run.ok) return { tests: run, criteria: null };
      const criteria = await tests.checkCriteria(criteriaRequestFor(req, run));
      return { tests: run, criteria };
    },
    async finish(req) {
      try {
        await workspace.storeRetrospective(retrospectiveOf(req.batchId, req.result));
      } catch (err) {
        if (isCancellation(err)) throw err;
        // The activity keeps a local copy when mem0 is down; losing even that never fails the worker.
      }
      await workspace.recordResult({ reportPath: req.reportPath, result: req.result });
    },
  };
}

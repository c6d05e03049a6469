// An instruction's workspace work as four activities, one per step (begin, accept, verify,
// finish). Every activity costs the workflow a task and three history events, and with an
// instant LLM that server and worker CPU is what limits throughput (README, Performance). Each
// step is made of the single-purpose functions of the workspace (load, prompt, inspect, write,
// test, criteria, record, retrospective), which are not registered as activities of their own.
import { criteriaRequestFor, promptRequestFor, retrospectiveOf } from '../workflows/instruction/requests.js';
import { AcceptRequest, BeginRequest, FinishRequest, VerifyRequest } from '../schemas.js';
import type { ManifestActivities, ReportActivities, InstructionStepActivities, WorkspaceActivities } from './types.js';
import { deterministic } from './workspace.js';

type Single = WorkspaceActivities & Pick<ManifestActivities, 'loadEntry'> & Pick<ReportActivities, 'recordResult'>;

export function workerSteps(a: Single): InstructionStepActivities {
  const steps: InstructionStepActivities = {
    /** The manifest entry and the first prompt. */
    async beginWorker(input) {
      const req = BeginRequest.parse(input);
      const entry = await a.loadEntry({ manifest: req.manifest, workerId: req.workerId });
      const prompt = await a.preparePrompt(promptRequestFor(entry, req, null));
      return { entry, prompt };
    },

    /** Inspects the answer; code (not a guide) is written to the workspace. */
    async acceptOutput(input) {
      const req = AcceptRequest.parse(input);
      const inspection = await a.inspectOutput({ outputRef: req.outputRef, deliverables: req.deliverables });
      if (inspection.guide) return { ...inspection, written: [] };
      const { written } = await a.writeDeliverables({ workspace: req.workspace, files: inspection.files });
      return { ...inspection, written };
    },

    /** Runs the tests; only passing tests go on to the success criteria. */
    async verifyOutput(input) {
      const req = VerifyRequest.parse(input);
      const { workerId, workspace, pythonRoot, commands } = req;
      const tests = await a.runTests({ workerId, workspace, pythonRoot, commands });
      if (!tests.ok) return { tests, criteria: null };
      const criteria = await a.checkCriteria(criteriaRequestFor(req, tests));
      return { tests, criteria };
    },

    /**
     * The result first (the report needs it; a retry rewrites the same file), then the
     * retrospective, which never throws: mem0 down means a local copy.
     */
    async finishWorker(input) {
      const req = FinishRequest.parse(input);
      await a.recordResult({ reportPath: req.reportPath, result: req.result });
      await a.storeRetrospective(retrospectiveOf(req.batchId, req.result));
    },
  };
  return {
    beginWorker: deterministic(steps.beginWorker),
    acceptOutput: deterministic(steps.acceptOutput),
    verifyOutput: deterministic(steps.verifyOutput),
    finishWorker: deterministic(steps.finishWorker),
  };
}

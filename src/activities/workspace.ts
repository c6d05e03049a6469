// The activities of the workspace task queue (files, tests, memory), bound to one process's
// configuration and artifact store. Each runs on the host that holds the checkout.
import type { ArtifactStore } from '../artifacts.js';
import type { Config } from '../config.js';
import type { CriteriaRequest, PromptRequest, Retrospective, TestRequest, FileRef } from '../schemas.js';
import { checkCriteria } from './criteria.js';
import { writeDeliverables } from './files.js';
import { inspectOutput } from './guide.js';
import { storeRetrospective } from './memory.js';
import { preparePrompt } from './prompt.js';
import { runTests } from './tests.js';

export interface WorkspaceDeps {
  config: Config;
  store: ArtifactStore;
}

export function createWorkspaceActivities(deps: WorkspaceDeps) {
  return {
    preparePrompt: (req: PromptRequest) => preparePrompt(deps, req),
    inspectOutput: (req: { outputRef: string; deliverables: string[] }) => inspectOutput(deps, req),
    writeDeliverables: (req: { workspace: string; files: FileRef[] }) => writeDeliverables(deps, req),
    runTests: (req: TestRequest) => runTests(deps, req),
    checkCriteria: (req: CriteriaRequest) => checkCriteria(deps, req),
    storeRetrospective: (r: Retrospective) => storeRetrospective(deps, r),
  };
}

// All activities, built once per process from the configuration.
import { createArtifactStore } from './artifacts.js';
import type { Config } from '../config.js';
import { createLlmActivities } from './llm/index.js';
import { manifestActivities } from './manifest-store.js';
import { childCheckActivities } from './batch-children.js';
import { createReportActivities } from './report.js';
import { checkStep, localSteps } from './instruction-steps.js';
import { createWorkspaceActivities, deterministic } from './workspace.js';
import { runSuite } from './suite.js';
import type { SuiteActivities } from './types.js';

export function createActivities(config: Config) {
  const store = createArtifactStore(config);
  const workspace = createWorkspaceActivities({ config, store });
  const parts = { ...workspace, ...manifestActivities, ...createReportActivities(store), ...childCheckActivities };
  return {
    store,
    llm: createLlmActivities({ config, store }),
    // What the workspace queue serves: the batch's plan, child checks, suite and report, and the
    // instruction step that runs generated code.
    workspace: {
      loadPlanPage: parts.loadPlanPage,
      loadPlanDetails: parts.loadPlanDetails,
      checkChildren: parts.checkChildren,
      writeReport: parts.writeReport,
      ...checkStep(parts),
      ...suiteActivities(config),
    },
    /** What the workflow worker runs as local activities: an instruction's quick workspace steps. */
    local: localSteps(parts),
    /** The single-purpose functions the steps are made of (the bench's fixed-batch baseline calls them directly). */
    parts,
  };
}

function suiteActivities(config: Config): SuiteActivities {
  return { runSuite: deterministic((req) => runSuite({ config }, req)) };
}

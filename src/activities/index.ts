// All activities, built once per process from the configuration.
import path from 'node:path';
import { ArtifactStore } from './artifacts.js';
import type { Config } from '../config.js';
import { createLlmActivities } from './llm/index.js';
import { manifestActivities } from './manifest-store.js';
import { createReportActivities } from './report.js';
import { workerSteps } from './instruction-steps.js';
import { createWorkspaceActivities, deterministic } from './workspace.js';
import { runSuite } from './suite.js';
import type { SuiteActivities } from './types.js';

export function createActivities(config: Config) {
  const store = new ArtifactStore(path.join(config.stateDir, 'artifacts'));
  const single = { ...createWorkspaceActivities({ config, store }), ...manifestActivities, ...createReportActivities(store) };
  return {
    llm: createLlmActivities({ config, store }),
    // Workers call the four steps; workflows started before the steps were merged, the single ones.
    workspace: { ...single, ...workerSteps(single), ...suiteActivities(config) },
  };
}

function suiteActivities(config: Config): SuiteActivities {
  return { runSuite: deterministic((req) => runSuite({ config }, req)) };
}

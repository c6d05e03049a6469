// All activities, built once per process from the configuration.
import { createArtifactStore } from './artifacts.js';
import type { Config } from '../config.js';
import { createLlmActivities } from './llm/index.js';
import { manifestActivities } from './manifest-store.js';
import { createReportActivities } from './report.js';
import { workerSteps } from './instruction-steps.js';
import { createWorkspaceActivities } from './workspace.js';

export function createActivities(config: Config) {
  const store = createArtifactStore(config);
  const single = { ...createWorkspaceActivities({ config, store }), ...manifestActivities, ...createReportActivities(store) };
  return {
    store,
    llm: createLlmActivities({ config, store }),
    // Workers call the four steps; workflows started before the steps were merged, the single ones.
    workspace: { ...single, ...workerSteps(single) },
  };
}

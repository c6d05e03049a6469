// All activities, built once per process from the configuration.
import path from 'node:path';
import { ArtifactStore } from './artifacts.js';
import type { Config } from '../config.js';
import { createLlmActivities } from './llm/index.js';
import { manifestActivities } from './manifest-store.js';
import { childCheckActivities } from './batch-children.js';
import { createReportActivities } from './report.js';
import { workerSteps } from './instruction-steps.js';
import { createWorkspaceActivities } from './workspace.js';

export function createActivities(config: Config) {
  const store = new ArtifactStore(path.join(config.stateDir, 'artifacts'));
  const single = { ...createWorkspaceActivities({ config, store }), ...manifestActivities, ...createReportActivities(store), ...childCheckActivities };
  return {
    llm: createLlmActivities({ config, store }),
    // Workers call the four steps; workflows started before the steps were merged, the single ones.
    workspace: { ...single, ...workerSteps(single) },
  };
}

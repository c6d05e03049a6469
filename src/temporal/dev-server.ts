// A local Temporal dev server for a user who has none: SQLite under .temporal/ (so a batch
// survives a restart), the Web UI on, and the search attributes registered.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { BATCH_ID, OUTCOME, PROVIDER, WORKER_ID } from './search-attributes.js';

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

/** The `temporal` CLI on this machine: TEMPORAL_CLI_PATH, then PATH; undefined means "let the SDK download it". */
export function findTemporalCli(c: Config, pathEnv = process.env.PATH ?? ''): string | undefined {
  if (c.TEMPORAL_CLI_PATH) return c.TEMPORAL_CLI_PATH;
  for (const dir of pathEnv.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'temporal');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function startDevServer(c: Config, opts: { address: string; dataDir: string; uiPort?: number }): Promise<DevServer> {
  const [host = '127.0.0.1', portText = '7233'] = opts.address.split(':');
  const port = Number(portText);
  const uiPort = opts.uiPort ?? port + 1000;
  mkdirSync(opts.dataDir, { recursive: true });
  const cli = findTemporalCli(c);
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli ? { type: 'existing-path', path: cli } : { type: 'cached-download' },
      ip: host === 'localhost' ? '127.0.0.1' : host,
      port,
      ui: true,
      uiPort,
      namespace: c.TEMPORAL_NAMESPACE,
      dbFilename: path.join(opts.dataDir, 'wingman.db'),
      searchAttributes: [BATCH_ID, WORKER_ID, OUTCOME, PROVIDER],
      // WAL keeps a file-backed server as fast as an in-memory one and still survives a kill.
      extraArgs: ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'],
      log: { format: 'pretty', level: 'error' },
    },
  });
  return {
    address: `${host}:${port}`,
    uiUrl: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${uiPort}`,
    stop: () => env.teardown(),
  };
}

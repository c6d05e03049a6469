// A Temporal dev server run as a plain child process on a SQLite file, so a test can SIGKILL it
// and start it again on the same file (TestWorkflowEnvironment only offers a graceful teardown).
import { Connection } from '@temporalio/client';
import { spawnGroup, type GroupProcess } from './process-group.js';
import { temporalCli } from './temporal.js';
import { waitForNoThrow } from './wait.js';
import { freePort } from './ports.js';
export { freePort };

export interface DevServerProcess {
  address: string;
  port: number;
  dbFile: string;
  /** The current server process (a new one after restart()). */
  process(): GroupProcess;
  /** SIGKILLs the server's process group: no shutdown, no flush beyond what SQLite already has. */
  kill9(): Promise<void>;
  /** Starts the server again with the same arguments and waits until it answers. */
  restart(): Promise<void>;
  /** Stops it for good (SIGKILL: the file is a test's throwaway). */
  stop(): Promise<void>;
}

/** The arguments a persistent dev server is started with (WAL: fast, and it survives a kill). */
export function devServerArgs(o: { port: number; uiPort: number; dbFile: string }): string[] {
  return [
    'server',
    'start-dev',
    '--headless',
    '--ip',
    '127.0.0.1',
    '--port',
    String(o.port),
    '--ui-port',
    String(o.uiPort),
    '--db-filename',
    o.dbFile,
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--search-attribute',
    'WingmanBatchId=Keyword',
    '--search-attribute',
    'WingmanWorkerId=Keyword',
    '--search-attribute',
    'WingmanOutcome=Keyword',
    '--search-attribute',
    'WingmanProvider=Keyword',
    '--log-level',
    'error',
  ];
}

/** Resolves once the frontend answers health checks and the default namespace can be described. */
export async function waitUntilAnswers(address: string, proc?: GroupProcess, timeoutMs = 120_000): Promise<void> {
  await waitForNoThrow(
    async () => {
      if (proc && !proc.running()) throw new Error(`the dev server exited:\n${proc.output().slice(-3000)}`);
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      try {
        await connection.healthService.check({});
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return true;
      } finally {
        await connection.close().catch(() => undefined);
      }
    },
    {
      timeoutMs,
      intervalMs: 300,
      what: `the dev server at ${address} to answer`,
      detail: () => proc?.output().slice(-3000) ?? '',
    },
  );
}

export async function startDevServerProcess(o: { dbFile: string; cwd: string }): Promise<DevServerProcess> {
  const port = await freePort();
  const uiPort = await freePort();
  const address = `127.0.0.1:${port}`;
  const args = devServerArgs({ port, uiPort, dbFile: o.dbFile });
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  let current: GroupProcess;
  const start = async () => {
    current = spawnGroup(temporalCli(), args, { cwd: o.cwd, env });
    await waitUntilAnswers(address, current);
  };
  await start();
  return {
    address,
    port,
    dbFile: o.dbFile,
    process: () => current,
    async kill9() {
      await current.killGroup('SIGKILL');
    },
    restart: start,
    async stop() {
      if (current.running()) await current.killGroup('SIGKILL');
    },
  };
}

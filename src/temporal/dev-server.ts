// A local Temporal dev server for a user who has none: SQLite under .temporal/ (so a batch
// survives a restart), the Web UI on, and the search attributes registered. Only one server may
// hold the data file: a second one on the same file (a re-run while the last one is still
// shutting down, or left running by a killed start-batch) would corrupt it, so starting waits
// for such a holder to exit, and refuses if it does not.
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { BATCH_ID, OUTCOME, PROVIDER, SEARCH_ATTRIBUTES, WORKER_ID } from './search-attributes.js';

export interface DevServer {
  address: string;
  uiUrl: string;
  /** Stops the server and waits for its process to exit. */
  stop(): Promise<void>;
}

/** Another process holds the data file and did not let go of it in time. */
export class DevServerBusy extends Error {}

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

export const lockFileOf = (dbFile: string) => `${dbFile}.pid`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdlineOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * Processes that hold the data file: the pid in the lock file while it lives (and, where /proc
 * tells, is still a server on this file), and on Linux any process started with it as its
 * `--db-filename` (a server whose lock file was lost).
 */
export function holdersOf(dbFile: string): number[] {
  const holders = new Set<number>();
  const onThisFile = (args: string[]) => args.some((a, i) => a === dbFile && args[i - 1] === '--db-filename');
  const lock = lockFileOf(dbFile);
  if (existsSync(lock)) {
    const pid = Number(readFileSync(lock, 'utf8').trim());
    const args = Number.isInteger(pid) && pid > 0 && alive(pid) ? cmdlineOf(pid) : undefined;
    if (Number.isInteger(pid) && pid > 0 && alive(pid) && (args === undefined || onThisFile(args))) holders.add(pid);
  }
  if (existsSync('/proc')) {
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      const args = cmdlineOf(pid);
      if (args && onThisFile(args)) holders.add(pid);
    }
  }
  return [...holders];
}

async function waitUntilFree(dbFile: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let holders = holdersOf(dbFile);
  while (holders.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    holders = holdersOf(dbFile);
  }
  if (holders.length > 0) {
    throw new DevServerBusy(
      `a Temporal dev server (pid ${holders.join(', ')}) still holds ${dbFile} ` +
        'but does not answer at TEMPORAL_ADDRESS: ' +
        `stop it (kill ${holders.join(' ')}) or point TEMPORAL_ADDRESS at it`,
    );
  }
}

async function waitUntilAnswers(
  address: string,
  namespace: string,
  child: ChildProcess,
  logFile: string,
): Promise<void> {
  const until = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
      throw new Error(
        `the Temporal dev server exited at start (${child.exitCode ?? child.signalCode}); its log ${logFile}:\n${tail}`,
      );
    }
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: '1s' });
      await connection.healthService.check({});
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      if (Date.now() > until)
        throw new Error(
          `the Temporal dev server did not answer at ${address} within 2 minutes: ${(err as Error).message}`,
          { cause: err },
        );
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startDevServer(
  c: Config,
  opts: { address: string; dataDir: string; uiPort?: number; waitForHolderMs?: number },
): Promise<DevServer> {
  const [hostText = '127.0.0.1', portText = '7233'] = opts.address.split(':');
  const host = hostText === 'localhost' ? '127.0.0.1' : hostText;
  const port = Number(portText);
  const uiPort = opts.uiPort ?? port + 1000;
  mkdirSync(opts.dataDir, { recursive: true });
  const dbFile = path.join(path.resolve(opts.dataDir), 'wingman.db');
  // A server still shutting down (an interrupted run) lets go within seconds.
  await waitUntilFree(dbFile, opts.waitForHolderMs ?? 30_000);
  const uiUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${uiPort}`;
  const cli = findTemporalCli(c);
  if (!cli) return startDownloaded(c, { host, port, uiPort, dbFile, uiUrl });

  const logFile = path.join(path.dirname(dbFile), 'dev-server.log');
  const log = openSync(logFile, 'a');
  const args = [
    'server',
    'start-dev',
    '--ip',
    host,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--db-filename',
    dbFile,
    '--namespace',
    c.TEMPORAL_NAMESPACE,
    // WAL keeps a file-backed server as fast as an in-memory one and still survives a kill.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    '--log-level',
    'error',
  ];
  // Same process group as start-batch: a terminal's Ctrl-C or a kill of the group reaches it too.
  const child = spawn(cli, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  child.once('error', () => undefined); // reported by waitUntilAnswers as an early exit
  writeFileSync(lockFileOf(dbFile), `${child.pid}\n`);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(forced);
    }
    rmSync(lockFileOf(dbFile), { force: true });
  };
  try {
    await waitUntilAnswers(`${host}:${port}`, c.TEMPORAL_NAMESPACE, child, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address: `${host}:${port}`, uiUrl, stop };
}

/** Without a `temporal` CLI on this machine the SDK downloads one and runs it. */
async function startDownloaded(
  c: Config,
  o: { host: string; port: number; uiPort: number; dbFile: string; uiUrl: string },
): Promise<DevServer> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download' },
      ip: o.host,
      port: o.port,
      ui: true,
      uiPort: o.uiPort,
      namespace: c.TEMPORAL_NAMESPACE,
      dbFilename: o.dbFile,
      searchAttributes: [BATCH_ID, WORKER_ID, OUTCOME, PROVIDER],
      extraArgs: ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'],
      log: { format: 'pretty', level: 'error' },
    },
  });
  const [pid] = holdersOf(o.dbFile);
  if (pid) writeFileSync(lockFileOf(o.dbFile), `${pid}\n`);
  return {
    address: `${o.host}:${o.port}`,
    uiUrl: o.uiUrl,
    stop: async () => {
      await env.teardown();
      rmSync(lockFileOf(o.dbFile), { force: true });
    },
  };
}

// The dev server's data file has one holder at a time: a process that still holds it (by the
// lock file's pid, or on Linux by its command line) keeps a second server from starting on it.
import { afterEach, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readConfig } from '../../../src/config.js';
import { DevServerBusy, holdersOf, lockFileOf, startDevServer } from '../../../src/temporal/dev-server.js';
import { freePort } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A stand-in for a server on the file: a process whose command line names it as its --db-filename. */
function holder(dbFile: string, seconds = 60): ChildProcess {
  const child = spawn(
    'bash',
    ['-c', `sleep ${seconds}; true`, 'temporal', 'server', 'start-dev', '--db-filename', dbFile],
    { stdio: 'ignore' },
  );
  children.push(child);
  return child;
}

const dbFileIn = (dir: string) => path.join(dir, 'wingman.db');

test('a process started on the data file holds it; once it has exited, nothing does', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wingman-lock-'));
  const child = holder(dbFileIn(dir));
  await waitFor(() => holdersOf(dbFileIn(dir)).includes(child.pid!), { timeoutMs: 10_000, what: 'the holder to show' });
  expect(holdersOf(path.join(dir, 'other.db'))).toEqual([]);
  child.kill('SIGKILL');
  await waitFor(() => holdersOf(dbFileIn(dir)).length === 0, { timeoutMs: 10_000, what: 'the holder to go' });
});

test('a lock file whose pid is gone, or is now another program, holds nothing', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wingman-lock-'));
  writeFileSync(lockFileOf(dbFileIn(dir)), '999999999\n');
  expect(holdersOf(dbFileIn(dir))).toEqual([]);
  writeFileSync(lockFileOf(dbFileIn(dir)), `${process.pid}\n`); // alive, but not a server on this file
  expect(holdersOf(dbFileIn(dir))).toEqual([]);
});

test('startDevServer waits for a holder to let go, and refuses, naming it, when it does not', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wingman-lock-'));
  const child = holder(dbFileIn(dir));
  await waitFor(() => holdersOf(dbFileIn(dir)).length > 0, { timeoutMs: 10_000, what: 'the holder to show' });
  const started = Date.now();
  const attempt = startDevServer(readConfig(), {
    address: `127.0.0.1:${await freePort()}`,
    dataDir: dir,
    waitForHolderMs: 1_500,
  });
  await expect(attempt).rejects.toThrow(DevServerBusy);
  await expect(attempt).rejects.toThrow(new RegExp(`pid ${child.pid}.*still holds ${dbFileIn(dir)}`));
  expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  // Nothing was started on the file meanwhile.
  expect(existsSync(path.join(dir, 'dev-server.log'))).toBe(false);
});

test('a holder that exits in time is waited for, then the server starts on the file and stops with it', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wingman-lock-'));
  holder(dbFileIn(dir), 2);
  await waitFor(() => holdersOf(dbFileIn(dir)).length > 0, { timeoutMs: 10_000, what: 'the holder to show' });
  const server = await startDevServer(readConfig(), {
    address: `127.0.0.1:${await freePort()}`,
    dataDir: dir,
    waitForHolderMs: 30_000,
  });
  try {
    const holders = holdersOf(dbFileIn(dir));
    expect(holders).toHaveLength(1);
    expect(existsSync(lockFileOf(dbFileIn(dir)))).toBe(true);
  } finally {
    await server.stop();
  }
  // stop() waited for the process to exit: the file is free at once.
  expect(holdersOf(dbFileIn(dir))).toEqual([]);
  expect(existsSync(lockFileOf(dbFileIn(dir)))).toBe(false);
}, 120_000);

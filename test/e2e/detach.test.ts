// Interrupting start-batch the way users do. Ctrl-C (SIGINT to the whole process group, as a
// terminal sends it: start-batch, its worker and the dev server it started) must detach cleanly
// and cost nothing on resume that a SIGKILL-and-resume would not; and an interrupted batch must
// spend nothing while another batch runs, until someone resumes it.
import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BatchSummary } from '../../src/schemas.js';
import { holdersOf } from '../../src/temporal/dev-server.js';
import { cliEnv, repoRoot, runCli } from '../support/cli.js';
import { writeInstructions } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { freePort } from '../support/ports.js';
import { killAllGroups, spawnCli, spawnGroup, type Exit } from '../support/process-group.js';
import { startTestServer } from '../support/temporal.js';
import { sleep, waitFor } from '../support/wait.js';
import { startDevServerProcess } from '../support/dev-server-process.js';

let llm: LlmStandIn;
const servers: TestWorkflowEnvironment[] = [];
beforeAll(async () => {
  llm = await startLlmStandIn();
});
afterEach(async () => {
  await killAllGroups();
  for (const s of servers.splice(0)) await s.teardown().catch(() => undefined);
});
afterAll(async () => {
  await killAllGroups();
  await llm?.close();
});

/**
 * start-batch as `npm run start-batch` runs it (`node --import tsx`, one process, no tsx parent
 * relaying signals), with the test's directory as its working directory.
 */
function startBatch(args: string[], opts: { cwd: string; env: Record<string, string> }) {
  const loader = path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs');
  return spawnGroup(
    process.execPath,
    ['--import', pathToFileURL(loader).href, path.join(repoRoot, 'src', 'starter.ts'), ...args],
    opts,
  );
}

/** Longer than any test: such a call is still open when the process holding it goes away. */
const UNTIL_INTERRUPTED_MS = 180_000;

/**
 * Quick workers answer at once and are done before the first interrupt; slow ones have a call in
 * flight at each of the first `interrupts` interrupts, and are answered quickly after that.
 */
function batchOf(first: number, o: { quick: number; slow: number; interrupts: number }) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-detach-'));
  const ids = Array.from({ length: o.quick + o.slow }, (_, i) => `WORKER_${first + i}`);
  const quick = ids.slice(0, o.quick);
  const slow = ids.slice(o.quick);
  writeInstructions(
    path.join(root, 'workers'),
    ids.map((id) => ({ id, files: [`wingman/d${first}/w${id.slice(7)}.py`] })),
  );
  const code = (id: string) => `VALUE = ${Number(id.slice(7))}\n`;
  for (const id of quick) llm.script(id, [{ code: code(id), delayMs: 100 }]);
  const cut = Array.from({ length: o.interrupts }, () => ({ code: 'unused', delayMs: UNTIL_INTERRUPTED_MS }));
  for (const id of slow) llm.script(id, [...cut, { code: code(id), delayMs: 100 }]);
  return { root, ids, quick, slow, workers: path.join(root, 'workers'), workspace: path.join(root, 'workspace') };
}
type Batch = ReturnType<typeof batchOf>;

const workerDone = (b: Batch, batchId: string, id: string) =>
  existsSync(path.join(b.root, 'results', batchId, 'workers', `${id}.json`));
const inFlightSince = (id: string, t: number) =>
  llm.callsFor(id).some((c) => c.at >= t && c.status === 0 && !c.aborted);

/**
 * The moment to interrupt: the quick workers have finished (their answers are recorded), every slow one has a call
 * open.
 */
async function interruptPoint(b: Batch, batchId: string, since: number, output: () => string): Promise<void> {
  await waitFor(
    () => b.quick.every((id) => workerDone(b, batchId, id)) && b.slow.every((id) => inFlightSince(id, since)),
    {
      timeoutMs: 180_000,
      intervalMs: 300,
      what: 'the quick workers done and a call of every slow worker in flight',
      detail: () =>
        `${output().slice(-3000)}\n${timeline(b.ids, since).join('\n')}\n` +
        `done: ${b.quick.filter((id) => workerDone(b, batchId, id))}`,
    },
  );
}

function env(address: string, root: string) {
  return cliEnv({
    TEMPORAL_ADDRESS: address,
    OPENAI_API_KEY: 'sk-test-detach',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    WINGMAN_STATE_DIR: path.join(root, 'state'),
    // A call held by a process that went away is noticed by its missing heartbeats, then retried.
    WINGMAN_LLM_HEARTBEAT_MS: '3000',
    WINGMAN_LLM_RETRY_INITIAL_MS: '200',
    WINGMAN_LLM_RETRY_MAX_MS: '1000',
    // Every interrupt costs a slow worker's call one attempt (its heartbeat times out).
    WINGMAN_LLM_MAX_ATTEMPTS: '6',
  });
}

// An answer the client never got (its process was gone) was not paid for.
const answered = (ids: string[]) =>
  llm.calls.filter((c) => ids.includes(c.workerId ?? '') && c.status === 200 && !c.aborted);
/** Each call of these workers, relative to the kill, for a failure message. */
const timeline = (ids: string[], t0: number) =>
  llm.calls
    .filter((c) => ids.includes(c.workerId ?? ''))
    .map((c) => `${c.workerId} ${c.status}${c.aborted ? ' aborted' : ''} ${c.at - t0} ms`);
const describeExit = (e: Exit) => `exit ${e.code ?? e.signal}\n${e.output.slice(-4000)}`;

/**
 * Runs the batch to its end, interrupting it `times` times with `signal` to its process group at an
 * interrupt point; every run after the first resumes with the same command. Returns the answers paid.
 */
async function interruptAndResume(b: Batch, address: string, batchId: string, signal: NodeJS.Signals, times: number) {
  const args = [
    '--workers',
    b.workers,
    '--workspace',
    b.workspace,
    '--python-root',
    'wingman',
    '--batch-id',
    batchId,
    '--concurrency',
    '20',
  ];
  const e = env(address, b.root);
  for (let i = 0; i < times; i++) {
    const since = Date.now();
    const run = startBatch(args, { cwd: b.root, env: e });
    await run.waitForOutput(/Started batch|Re-attaching to batch/, 180_000);
    await interruptPoint(b, batchId, since, run.output);
    const sentAt = Date.now();
    const exit = await run.killGroup(signal);
    if (signal === 'SIGINT') {
      // A clean detach: exit 130 within seconds, the batch id and the command that resumes it.
      expect({ code: exit.code, out: describeExit(exit) }).toMatchObject({ code: 130 });
      expect(Date.now() - sentAt).toBeLessThan(20_000);
      expect(exit.stdout).toContain(`Detached from batch ${batchId}`);
      expect(exit.stdout).toMatch(new RegExp(`Resume it with: npm run start-batch -- .*--batch-id ${batchId}`));
      expect(exit.output).not.toMatch(/^\s+at /m);
      // The dev server it started has exited too, and let go of its data file.
      expect(holdersOf(path.join(b.root, '.temporal', 'wingman.db'))).toEqual([]);
    }
  }
  const last = await runCli('starter', args, { cwd: b.root, env: e });
  expect({ code: last.exitCode, out: last.stdout + last.stderr }).toMatchObject({ code: 0 });
  expect(last.stdout).toMatch(/Re-attaching to batch/);
  return answered(b.ids);
}

test('Ctrl-C three times on a 20-worker batch, resumed each time: it pays what a SIGKILL-and-resume pays', async () => {
  // start-batch's own dev server (TEMPORAL_ADDRESS answers nothing): the Ctrl-C reaches it too, and every
  // re-run starts it again on the same data file.
  const interrupted = batchOf(301, { quick: 8, slow: 12, interrupts: 3 });
  const sigint = await interruptAndResume(interrupted, `127.0.0.1:${await freePort()}`, 'ctrl-c', 'SIGINT', 3);

  const killed = batchOf(401, { quick: 8, slow: 12, interrupts: 1 });
  const sigkill = await interruptAndResume(killed, `127.0.0.1:${await freePort()}`, 'sigkill', 'SIGKILL', 1);

  // Every worker's single answer paid once, under both.
  const perWorker = (calls: typeof sigint) =>
    new Map(
      [...new Set(calls.map((c) => c.workerId))].map((id) => [id, calls.filter((c) => c.workerId === id).length]),
    );
  expect([...perWorker(sigint).values()].every((n) => n === 1)).toBe(true);
  expect(sigint).toHaveLength(interrupted.ids.length);
  expect(sigkill).toHaveLength(killed.ids.length);
  expect(sigint.length).toBeLessThanOrEqual(sigkill.length);
}, 900_000);

test('an interrupted batch A spends nothing while B runs; batch list shows it; resumed, it finishes', async () => {
  const server = await startTestServer();
  servers.push(server);
  const a = batchOf(501, { quick: 4, slow: 6, interrupts: 1 });
  const e = env(server.address, a.root);
  const argsA = [
    '--workers',
    a.workers,
    '--workspace',
    a.workspace,
    '--python-root',
    'wingman',
    '--batch-id',
    'batch-a',
  ];
  const first = spawnCli('starter', argsA, { cwd: a.root, env: e });
  await first.waitForOutput(/Started batch/, 180_000);
  await interruptPoint(a, 'batch-a', 0, first.output);
  await first.killGroup('SIGKILL');
  const killedAt = Date.now();
  const paidByA = answered(a.ids).length;

  // Batch B in the same place: named A, did not serve it.
  const b = batchOf(601, { quick: 3, slow: 0, interrupts: 0 });
  const argsB = [
    '--workers',
    b.workers,
    '--workspace',
    a.workspace,
    '--python-root',
    'wingman',
    '--batch-id',
    'batch-b',
  ];
  const rb = await runCli('starter', argsB, { cwd: a.root, env: e });
  expect({ code: rb.exitCode, out: rb.stdout + rb.stderr }).toMatchObject({ code: 0 });
  expect(rb.stdout).toMatch(/Other unfinished batches on namespace default, not run by this command: batch-a/);
  // A's calls in flight at the kill were cut off; nothing of A was asked for since.
  expect(llm.calls.filter((c) => a.ids.includes(c.workerId ?? '') && c.at > killedAt)).toEqual([]);
  expect(answered(a.ids)).toHaveLength(paidByA);

  const list = await runCli('batch-control', ['list'], { cwd: a.root, env: e });
  expect({ code: list.exitCode, out: list.stdout + list.stderr }).toMatchObject({ code: 0 });
  expect(list.stdout).toMatch(/^batch-a .*no worker serves it/m);
  expect(list.stdout).not.toMatch(/batch-b/);

  const resumed = await runCli('starter', argsA, { cwd: a.root, env: e });
  expect({ code: resumed.exitCode, out: resumed.stdout + resumed.stderr }).toMatchObject({ code: 0 });
  expect(resumed.stdout).toMatch(/Re-attaching to batch batch-a/);
  const paid = answered(a.ids);
  expect(new Set(paid.map((c) => c.workerId)).size).toBe(a.ids.length);
  expect({ paid: paid.length, calls: timeline(a.ids, killedAt) }).toEqual({
    paid: a.ids.length,
    calls: timeline(a.ids, killedAt),
  });
}, 600_000);

/** Starts a batch with start-batch's own worker and SIGKILLs the group at an interrupt point. */
async function interruptedBatch(server: TestWorkflowEnvironment, first: number, batchId: string) {
  const b = batchOf(first, { quick: 2, slow: 3, interrupts: 1 });
  const e = env(server.address, b.root);
  const run = spawnCli(
    'starter',
    ['--workers', b.workers, '--workspace', b.workspace, '--python-root', 'wingman', '--batch-id', batchId],
    { cwd: b.root, env: e },
  );
  await run.waitForOutput(/Started batch/, 180_000);
  await interruptPoint(b, batchId, 0, run.output);
  await run.killGroup('SIGKILL');
  return { b, e, killedAt: Date.now() };
}

test('batch abort ends an interrupted batch that no worker serves, without a single LLM call', async () => {
  const server = await startTestServer();
  servers.push(server);
  const { b, e, killedAt } = await interruptedBatch(server, 701, 'batch-c');
  const r = await runCli('batch-control', ['abort', 'batch-c', 'not today'], { cwd: b.root, env: e });
  expect(`exit ${r.exitCode}\n${r.stdout}${r.stderr}`).toMatch(/^exit 0\n/);
  expect(r.stdout).toMatch(/No worker serves batch batch-c: ending it here, without LLM calls/);
  const summary = (await server.client.workflow.getHandle('batch-batch-c').result()) as BatchSummary;
  expect(summary).toMatchObject({ status: 'aborted', abortReason: 'aborted by operator: not today' });
  expect(summary.counts.passed).toBe(b.quick.length);
  expect(llm.calls.filter((c) => b.ids.includes(c.workerId ?? '') && c.at > killedAt)).toEqual([]);
}, 600_000);

test('npm run worker -- --batch ID serves a batch of start-batch (its own queues) to the end', async () => {
  const server = await startTestServer();
  servers.push(server);
  const { b, e } = await interruptedBatch(server, 801, 'batch-d');
  const worker = spawnCli('worker', ['--batch', 'batch-d'], { cwd: b.root, env: e });
  await worker.waitForOutput(/worker polling .*wingman@batch-d/, 180_000);
  const summary = (await server.client.workflow.getHandle('batch-batch-d').result()) as BatchSummary;
  expect(summary.status).toBe('completed');
  expect(summary.counts.passed).toBe(b.ids.length);
  expect(answered(b.ids)).toHaveLength(b.ids.length);
}, 600_000);

test('a Temporal outage mid-batch is one line when it starts and one when Temporal is back', async () => {
  // --resume-others serves an older batch too.
  const older = batchOf(901, { quick: 1, slow: 2, interrupts: 1 });
  const dev = await startDevServerProcess({ dbFile: path.join(older.root, 'temporal.db'), cwd: older.root });
  try {
    const e = env(dev.address, older.root);
    // An older batch, interrupted: it waits on its own queues.
    const first = spawnCli(
      'starter',
      ['--workers', older.workers, '--workspace', older.workspace, '--python-root', 'wingman', '--batch-id', 'older'],
      { cwd: older.root, env: e },
    );
    await first.waitForOutput(/Started batch/, 180_000);
    await interruptPoint(older, 'older', 0, first.output);
    await first.killGroup('SIGKILL');

    // Every answer takes a few seconds: calls are in flight when the server goes away.
    const b = batchOf(951, { quick: 4, slow: 0, interrupts: 0 });
    for (const id of b.ids) llm.script(id, [{ code: `VALUE = ${Number(id.slice(7))}\n`, delayMs: 5_000 }]);
    const run = spawnCli(
      'starter',
      [
        '--workers',
        b.workers,
        '--workspace',
        b.workspace,
        '--python-root',
        'wingman',
        '--batch-id',
        'outage',
        '--resume-others',
      ],
      { cwd: b.root, env: e },
    );
    await run.waitForOutput(/Started batch outage/, 180_000);
    expect(run.output()).toMatch(/Also resuming the other unfinished batches on namespace default: older/);
    await waitFor(() => b.ids.some((id) => inFlightSince(id, 0)), {
      timeoutMs: 180_000,
      what: 'a call in flight',
      detail: () => run.output(),
    });
    await dev.kill9();
    await run.waitForOutput(/Temporal unreachable, retrying/, 60_000);
    await sleep(8_000); // a deliberate outage: many polls fail meanwhile
    await dev.restart();
    const stuck = setTimeout(() => void run.killGroup('SIGKILL'), 240_000);
    const exit = await run.exited;
    clearTimeout(stuck);
    expect({ code: exit.code, out: describeExit(exit) }).toMatchObject({ code: 0 });
    expect(exit.output.match(/Temporal unreachable/g)).toHaveLength(1);
    expect(exit.output.match(/Temporal is back/g)).toHaveLength(1);
    expect(exit.output).not.toMatch(/^\s+at /m);
    expect(exit.output.split('\n').filter((l) => l.trim()).length).toBeLessThanOrEqual(25);
    // The older batch was served too, and has finished.
    const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
    try {
      // It may still be finishing when start-batch exits (its worker served it while it ran).
      const described = await client.workflow.getHandle('batch-older').describe();
      expect(['COMPLETED', 'RUNNING']).toContain(described.status.name);
      expect(answered(older.quick).length).toBe(older.quick.length);
      expect(older.slow.every((id) => answered([id]).length === 1)).toBe(true);
    } finally {
      await client.connection.close();
    }
  } finally {
    await dev.stop();
  }
}, 600_000);

test('a second Ctrl-C while start-batch detaches exits at once', async () => {
  const b = batchOf(971, { quick: 1, slow: 2, interrupts: 1 });
  const run = startBatch(
    ['--workers', b.workers, '--workspace', b.workspace, '--python-root', 'wingman', '--batch-id', 'twice'],
    {
      cwd: b.root,
      env: env(`127.0.0.1:${await freePort()}`, b.root),
    },
  );
  await run.waitForOutput(/Started batch/, 180_000);
  await interruptPoint(b, 'twice', 0, run.output);
  process.kill(-run.pid, 'SIGINT');
  await run.waitForOutput(/SIGINT: detaching/, 10_000);
  // Later than one key press can arrive twice, sooner than the detach (which drains the worker for seconds) ends.
  await sleep(700);
  const sentAt = Date.now();
  const exit = await run.killGroup('SIGINT');
  expect({ code: exit.code, out: describeExit(exit) }).toMatchObject({ code: 130 });
  expect(exit.output).toMatch(/SIGINT again: exiting now/);
  expect(Date.now() - sentAt).toBeLessThan(2_000);
}, 300_000);

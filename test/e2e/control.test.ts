// Steering a running batch with `npm run batch -- status|pause|resume|concurrency|abort ID`
// (src/batch-control.ts in a child process) while start-batch follows it in another, against a
// real dev server, with slow stand-in answers so there is time to act.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OUTCOMES, type Progress, type Report } from '../../src/schemas.js';
import { batchWorkflowId, progressQuery } from '../../src/workflows/batch/messages.js';
import { cliEnv, runCli } from '../support/cli.js';
import { writeInstructions } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { killAllGroups, spawnCli } from '../support/process-group.js';
import { startTestServer } from '../support/temporal.js';
import { sleep, waitFor, waitForNoThrow } from '../support/wait.js';

let server: TestWorkflowEnvironment;
let llm: LlmStandIn;

beforeAll(async () => {
  server = await startTestServer();
  llm = await startLlmStandIn();
  // Every answer takes a while: workers stay running long enough to be watched and steered.
  llm.fallback((c) => ({ code: `# ${c.workerId}\ndef value() -> int:\n    return 1\n`, delayMs: 3000 }));
});
afterAll(async () => {
  await killAllGroups();
  await llm?.close();
  await server?.teardown();
});

/** The batch the first test ran and aborted, for the tests of an ended batch. */
let ended: string | undefined;
/** `npm run batch -- ...`: it needs nothing but the Temporal address. */
const batch = (...args: string[]) =>
  runCli('batch-control', args, { cwd: os.tmpdir(), env: cliEnv({ TEMPORAL_ADDRESS: server.address }) });

const done = (p: Progress) => OUTCOMES.reduce((n, o) => n + p.counts[o], 0);

test('status, pause, concurrency, resume and abort steer a running batch; abort ends it with exit 2', async () => {
  // The abort reason reads "aborted by operator".
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-control-'));
  const workspace = path.join(root, 'workspace');
  mkdirSync(path.join(workspace, 'wingman'), { recursive: true });
  const ids = Array.from({ length: 12 }, (_, i) => `WORKER_${951 + i}`);
  writeInstructions(
    path.join(root, 'workers'),
    ids.map((id) => ({ id, files: [`wingman/ctl/w${id.slice(7)}.py`] })),
  );
  const env = cliEnv({
    TEMPORAL_ADDRESS: server.address,
    OPENAI_API_KEY: 'sk-test-control-not-a-real-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    WINGMAN_STATE_DIR: path.join(root, 'state'),
  });
  const batchId = `control-${Date.now()}`;
  const handle = server.client.workflow.getHandle(batchWorkflowId(batchId));
  const progress = () => handle.query(progressQuery);
  const calledWorkers = () => new Set(llm.calls.filter((c) => ids.includes(c.workerId ?? '')).map((c) => c.workerId));

  const starter = spawnCli(
    'starter',
    [
      '--workers',
      path.join(root, 'workers'),
      '--workspace',
      workspace,
      '--python-root',
      'wingman',
      '--batch-id',
      batchId,
      '--concurrency',
      '2',
    ],
    { cwd: root, env },
  );
  await starter.waitForOutput(/Started batch/, 180_000);
  await waitForNoThrow(async () => (await progress()).running.length === 2, {
    timeoutMs: 120_000,
    what: 'two workers running',
  });

  // status: a progress line, and JSON with the counts.
  const status = await batch('status', batchId);
  expect({ code: status.exitCode, err: status.stderr }).toMatchObject({ code: 0 });
  expect(status.stdout).toMatch(/\[[#.]{24}\] \d+\/12 .*\| running \d+ \| \$\d+\.\d{4}.*\| running/);
  const json = await batch('status', batchId, '--json');
  expect(json.exitCode).toBe(0);
  const p0 = JSON.parse(json.stdout) as Progress;
  expect(p0).toMatchObject({ batchId, state: 'running', total: 12, concurrency: 2, abortReason: null });
  expect(Object.keys(p0.counts).sort()).toEqual([...OUTCOMES].sort());
  expect(p0.running.length).toBeLessThanOrEqual(2);

  // pause: the running workers finish, no new one starts.
  const paused = await batch('pause', batchId, '--json');
  expect(paused.exitCode).toBe(0);
  const drained = await waitFor(
    async () => {
      const p = await progress();
      return p.state === 'paused' && p.running.length === 0 ? p : undefined;
    },
    { timeoutMs: 120_000, what: 'the paused batch to drain its running workers' },
  );
  expect(done(drained)).toBeLessThan(12);
  const calledAtPause = calledWorkers();
  // Watch for a while: nothing new may start while paused (absence, so a deliberate window).
  for (let i = 0; i < 8; i++) {
    await sleep(500);
    const p = await progress();
    expect({ state: p.state, running: p.running, done: done(p) }).toEqual({
      state: 'paused',
      running: [],
      done: done(drained),
    });
  }
  expect([...calledWorkers()].sort()).toEqual([...calledAtPause].sort());

  // concurrency: the window changes (validated: 0 is refused).
  const bad = await batch('concurrency', batchId, '0');
  expect(bad.exitCode).toBe(3);
  const widened = await batch('concurrency', batchId, '4', '--json');
  expect({ code: widened.exitCode, err: widened.stderr }).toMatchObject({ code: 0 });
  expect((JSON.parse(widened.stdout) as Progress).concurrency).toBe(4);
  expect((await progress()).concurrency).toBe(4);

  // resume: work continues, now four at a time.
  const resumed = await batch('resume', batchId);
  expect(resumed.exitCode).toBe(0);
  let most = 0;
  await waitFor(
    async () => {
      const p = await progress();
      most = Math.max(most, p.running.length);
      return p.state === 'running' && p.running.length === 4;
    },
    { timeoutMs: 120_000, intervalMs: 100, what: 'four workers running after resume' },
  );
  expect(most).toBeLessThanOrEqual(4);
  await waitFor(() => calledWorkers().size > calledAtPause.size, {
    timeoutMs: 120_000,
    what: 'a worker started after resume to call the LLM',
  });

  // abort: running workers are cancelled, the rest skipped, the starter exits 2.
  const aborted = await batch('abort', batchId, 'enough for today', '--json');
  expect(aborted.exitCode).toBe(0);
  expect((JSON.parse(aborted.stdout) as Progress).abortReason).toBe('aborted by operator: enough for today');
  const exit = await starter.exited;
  expect({ code: exit.code, out: exit.output.slice(-3000) }).toMatchObject({ code: 2 });
  const report = JSON.parse(readFileSync(path.join(root, 'results', batchId, 'report.json'), 'utf8')) as Report;
  expect(report.status).toBe('aborted');
  expect(report.abortReason).toBe('aborted by operator: enough for today');
  expect(report.counts.skipped).toBeGreaterThanOrEqual(1);
  expect(Object.values(report.counts).reduce((a, b) => a + b, 0)).toBe(12);
  const notStarted = report.workers.filter((w) => /^not started/.test(w.error ?? ''));
  expect(notStarted.length).toBeGreaterThanOrEqual(1);
  for (const w of notStarted) expect({ id: w.id, calls: llm.callsFor(w.id).length }).toEqual({ id: w.id, calls: 0 });
  ended = batchId;
}, 600_000);

test('status of an ended batch, with no worker running any more, still answers', async () => {
  expect(ended).toBeDefined();
  const batchId = ended!;
  // The starter (and its worker) has exited.
  const t0 = Date.now();
  const final = await batch('status', batchId, '--json');
  if (final.exitCode !== 0)
    throw new Error(
      `status of an ended batch with no worker running: exit ${final.exitCode} after ${Date.now() - t0} ms\n` +
        `${final.stderr.slice(-2000)}`,
    );
  expect(JSON.parse(final.stdout)).toMatchObject({
    batchId,
    state: 'aborted',
    running: [],
    abortReason: 'aborted by operator: enough for today',
  });
}, 300_000);

test('an unknown batch id is refused with exit 3, whatever the command', async () => {
  for (const command of ['status', 'pause', 'resume', 'abort']) {
    const unknown = await batch(command, `no-such-batch-${Date.now()}`);
    expect({ command, code: unknown.exitCode }).toEqual({ command, code: 3 });
    expect(unknown.stderr).toMatch(/no batch no-such-batch-/);
  }
  const unknownConcurrency = await batch('concurrency', `no-such-batch-${Date.now()}`, '3');
  expect(unknownConcurrency.exitCode).toBe(3);
}, 300_000);

// Crashes mid-batch, through the real CLI: the worker process, the starter (with its in-process
// worker) and the dev server itself are SIGKILLed while LLM calls are in flight and others are
// done. The batch must finish, every deliverable must be written once, and no LLM answer that
// Temporal had already recorded may be asked for (and paid for) again.
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  watch,
  writeFileSync,
  type FSWatcher,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { batchWorkflowId, instructionWorkflowId } from '../../src/workflows/batch/messages.js';
import { cliEnv } from '../support/cli.js';
import { startDevServerProcess, type DevServerProcess } from '../support/dev-server-process.js';
import { writeInstructions } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn, type StandInCall } from '../support/llm-standin.js';
import { killAllGroups, spawnCli, type Exit, type GroupProcess } from '../support/process-group.js';
import { startTestServer } from '../support/temporal.js';
import { dataConverter } from '../../src/temporal/codec.js';
import { sleep, waitFor } from '../support/wait.js';

let llm: LlmStandIn;
const servers: TestWorkflowEnvironment[] = [];
const watchers: FSWatcher[] = [];
const orphans: number[] = [];

beforeAll(async () => {
  llm = await startLlmStandIn();
});
afterEach(async () => {
  for (const w of watchers.splice(0)) w.close();
  await killAllGroups();
  for (const pid of orphans.splice(0)) {
    // A test run the killed worker had started (its own process group, so it outlived the worker);
    // only while that pid is still that pytest, never a recycled one.
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // gone already
    }
    if (!cmdline.includes('test_slow731')) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  for (const s of servers.splice(0)) await s.teardown().catch(() => undefined);
});
afterAll(async () => {
  await killAllGroups();
  await llm?.close();
});

async function testServer(): Promise<TestWorkflowEnvironment> {
  const s = await startTestServer();
  servers.push(s);
  return s;
}

const GUIDE =
  'Step 1: Create the file.\nStep 2: You should add a function.\nHere is how you could do it:\n' +
  '```python\ndef f():\n    pass  # TODO\n```\nTODO: finish this.';
/** Longer than any test: the call is still open when the process holding it is killed. */
const UNTIL_KILLED_MS = 180_000;

/**
 * Eight independent workers, three kinds:
 *  - done:   one quick answer; they have finished before the crash;
 *  - guided: a quick guide (answered before the crash), then the code, still in flight at the crash;
 *  - slow:   the first answer is still in flight at the crash.
 * After the crash a retried call is answered quickly.
 */
function scenario(first: number, inFlightMs = UNTIL_KILLED_MS) {
  const ids = Array.from({ length: 8 }, (_, i) => `WORKER_${first + i}`);
  const done = ids.slice(0, 3);
  const guided = ids.slice(3, 5);
  const slow = ids.slice(5);
  const file = (id: string) => `wingman/crash${first}/w${id.slice(7)}.py`;
  const code = (id: string) => `# ${id}\nVALUE = ${Number(id.slice(7))}\n\n\ndef value() -> int:\n    return VALUE\n`;
  const specs = ids.map((id) => ({ id, files: [file(id)] }));
  const script = (s: LlmStandIn) => {
    for (const id of done) s.script(id, [{ code: code(id), delayMs: 200 }]);
    for (const id of guided)
      s.script(id, [
        { guide: GUIDE, delayMs: 200 },
        { code: code(id), delayMs: inFlightMs },
        { code: code(id), delayMs: 200 },
      ]);
    for (const id of slow)
      s.script(id, [
        { code: code(id), delayMs: inFlightMs },
        { code: code(id), delayMs: 200 },
      ]);
  };
  return { ids, done, guided, slow, file, code, specs, script, dir: `wingman/crash${first}` };
}
type Scenario = ReturnType<typeof scenario>;

function setup(s: Scenario) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-crash-'));
  const workspace = path.join(root, 'workspace');
  const workers = path.join(root, 'workers');
  const state = path.join(root, 'state');
  mkdirSync(path.join(workspace, s.dir), { recursive: true });
  writeInstructions(workers, s.specs);
  s.script(llm);
  // Every atomic write ends with a rename onto the deliverable's name: count them.
  const renames = new Map<string, number>();
  watchers.push(
    watch(path.join(workspace, s.dir), (event, name) => {
      if (event === 'rename' && name && !name.startsWith('.')) renames.set(name, (renames.get(name) ?? 0) + 1);
    }),
  );
  return { root, workspace, workers, state, renames };
}

function crashEnv(address: string, state: string) {
  return cliEnv({
    TEMPORAL_ADDRESS: address,
    OPENAI_API_KEY: 'sk-test-crash-not-a-real-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    OPENAI_MODEL: 'gpt-4o-mini',
    WINGMAN_STATE_DIR: state,
    // A call held by a dead worker is noticed by its missing heartbeats, then retried.
    WINGMAN_LLM_HEARTBEAT_MS: '3000',
    WINGMAN_LLM_MAX_ATTEMPTS: '4',
    WINGMAN_LLM_RETRY_INITIAL_MS: '200',
    WINGMAN_LLM_RETRY_MAX_MS: '1000',
  });
}

const answered = (id: string, calls: StandInCall[] = llm.callsFor(id)) => calls.filter((c) => c.status === 200);
const inFlight = (id: string) => llm.callsFor(id).some((c) => c.status === 0 && !c.aborted);

/** How many LLM generations Temporal has recorded as completed in a worker's history. */
async function recordedGenerations(client: Client, batchId: string, id: string): Promise<number> {
  let history;
  try {
    history = await client.workflow.getHandle(instructionWorkflowId(batchId, id)).fetchHistory();
  } catch {
    return -1; // not started yet
  }
  const scheduled = new Map<string, string>();
  let completed = 0;
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
    const c = e.activityTaskCompletedEventAttributes;
    if (c && scheduled.get(String(c.scheduledEventId))?.startsWith('generate')) completed++;
  }
  return completed;
}

interface Snapshot {
  at: number;
  /** Answers given before the crash, per worker (their prompts). */
  answeredPrompts: Map<string, string[]>;
  /** inode and mtime of the deliverables that existed at the crash. */
  files: Map<string, { ino: number; mtimeMs: number; ctimeMs: number; content: string }>;
  /** Calls of the scenario's workers without an answer at the crash. */
  unanswered: number;
}

/**
 * The moment to crash: the "done" workers have finished, every other one has a call in flight,
 * and every answer the stand-in gave has been recorded by Temporal (an answer sent but not yet
 * recorded may legitimately be asked again: activities run at least once).
 */
async function waitForCrashPoint(
  client: Client,
  batchId: string,
  s: Scenario,
  dirs: { root: string },
  detail: () => string,
): Promise<void> {
  await waitFor(
    async () => {
      if (!s.done.every((id) => existsSync(path.join(dirs.root, 'results', batchId, 'workers', `${id}.json`))))
        return false;
      if (![...s.guided, ...s.slow].every(inFlight)) return false;
      if (!s.guided.every((id) => answered(id).length === 1)) return false;
      for (const id of s.ids)
        if ((await recordedGenerations(client, batchId, id)) !== answered(id).length) return false;
      return true;
    },
    {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: 'the crash point (some workers done, the others waiting for the LLM)',
      detail,
    },
  );
}

function snapshot(s: Scenario, workspace: string): Snapshot {
  const files: Snapshot['files'] = new Map();
  for (const id of s.ids) {
    const f = path.join(workspace, s.file(id));
    if (existsSync(f)) {
      const st = statSync(f);
      files.set(id, { ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, content: readFileSync(f, 'utf8') });
    }
  }
  return {
    at: Date.now(),
    answeredPrompts: new Map(s.ids.map((id) => [id, answered(id).map((c) => c.prompt)])),
    files,
    unanswered: llm.calls.filter((c) => s.ids.includes(c.workerId ?? '') && c.status === 0).length,
  };
}

/** What every crash test asserts once the batch has finished. */
function expectFinishedOnceEach(
  s: Scenario,
  dirs: ReturnType<typeof setup>,
  batchId: string,
  snap: Snapshot,
  o: { callsCutOff: boolean },
) {
  const report = JSON.parse(readFileSync(path.join(dirs.root, 'results', batchId, 'report.json'), 'utf8')) as Report;
  expect(report.status).toBe('completed');
  expect(report.counts).toEqual({ passed: 8, failed: 0, guide: 0, llm_timeout: 0, error: 0, skipped: 0 });

  // The crash landed mid-batch: answers before it, and calls cut off by it.
  expect(snap.files.size).toBeGreaterThanOrEqual(s.done.length);
  expect(snap.unanswered).toBeGreaterThanOrEqual(s.guided.length + s.slow.length);

  for (const id of s.ids) {
    const calls = llm.callsFor(id);
    const after = calls.filter((c) => c.at > snap.at);
    // No answer given before the crash was asked for again after it.
    for (const prompt of snap.answeredPrompts.get(id)!)
      expect({ id, repeated: after.filter((c) => c.prompt === prompt).length }).toEqual({ id, repeated: 0 });
    // And no prompt was answered twice at all.
    const prompts = answered(id, calls).map((c) => c.prompt);
    expect({ id, duplicates: prompts.length - new Set(prompts).size }).toEqual({ id, duplicates: 0 });
  }
  // Per kind: finished workers made exactly one call; the others one per answer they needed,
  // plus the one the crash cut off (when the process holding it died).
  const cut = o.callsCutOff ? [0] : [];
  for (const id of s.done) expect({ id, calls: llm.callsFor(id).map((c) => c.status) }).toEqual({ id, calls: [200] });
  for (const id of s.guided)
    expect({ id, calls: llm.callsFor(id).map((c) => c.status) }).toEqual({ id, calls: [200, ...cut, 200] });
  for (const id of s.slow)
    expect({ id, calls: llm.callsFor(id).map((c) => c.status) }).toEqual({ id, calls: [...cut, 200] });

  for (const id of s.ids) {
    const f = path.join(dirs.workspace, s.file(id));
    expect(readFileSync(f, 'utf8')).toBe(s.code(id));
    const before = snap.files.get(id);
    if (before) {
      // Written before the crash and never again: same inode (a rewrite renames a new one in), same times.
      const st = statSync(f);
      expect({ id, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs }).toEqual({
        id,
        ino: before.ino,
        mtimeMs: before.mtimeMs,
        ctimeMs: before.ctimeMs,
      });
    }
    // One rename onto the deliverable's name: it was written exactly once.
    expect({ id, writes: dirs.renames.get(path.basename(f)) ?? 0 }).toEqual({ id, writes: 1 });
  }
  // Nothing was overwritten, so no previous version was kept; no temp file was left behind.
  expect(existsSync(path.join(dirs.state, 'previous'))).toBe(false);
  expect(readdirSync(path.join(dirs.workspace, s.dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
}

const starterArgs = (dirs: { workers: string; workspace: string }, batchId: string, ...extra: string[]) => [
  '--workers',
  dirs.workers,
  '--workspace',
  dirs.workspace,
  '--python-root',
  'wingman',
  '--batch-id',
  batchId,
  '--concurrency',
  '8',
  ...extra,
];

const describeExit = (e: Exit) => `exit ${e.code ?? e.signal}\n${e.output.slice(-4000)}`;

describe('SIGKILL mid-batch', () => {
  test('(a) the worker process: a new one finishes, every file written once, no answer paid twice', async () => {
    const server = await testServer();
    const s = scenario(701);
    const dirs = setup(s);
    const batchId = `crash-worker-${Date.now()}`;
    const env = crashEnv(server.address, dirs.state);

    let worker: GroupProcess = spawnCli('worker', [], { cwd: dirs.root, env });
    await worker.waitForOutput(/worker polling/, 180_000);
    const starter = spawnCli('starter', starterArgs(dirs, batchId, '--no-worker'), { cwd: dirs.root, env });
    await waitForCrashPoint(
      server.client,
      batchId,
      s,
      dirs,
      () => `starter:\n${starter.output().slice(-2000)}\nworker:\n${worker.output().slice(-2000)}`,
    );

    const killed = await worker.killGroup('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const snap = snapshot(s, dirs.workspace);
    expect(starter.running()).toBe(true);

    worker = spawnCli('worker', [], { cwd: dirs.root, env });
    const exit = await starter.exited;
    expect({ code: exit.code, out: describeExit(exit) }).toMatchObject({ code: 0 });
    expectFinishedOnceEach(s, dirs, batchId, snap, { callsCutOff: true });
  }, 600_000);

  test('(c) the starter and its worker: the same command re-attaches and finishes, no answer paid twice', async () => {
    // The starter runs its worker in process: the kill takes both.
    const server = await testServer();
    const s = scenario(711);
    const dirs = setup(s);
    const batchId = `crash-starter-${Date.now()}`;
    const env = crashEnv(server.address, dirs.state);

    const first = spawnCli('starter', starterArgs(dirs, batchId), { cwd: dirs.root, env });
    await first.waitForOutput(/Started batch/, 180_000);
    await waitForCrashPoint(server.client, batchId, s, dirs, () => first.output().slice(-3000));
    const killed = await first.killGroup('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    const snap = snapshot(s, dirs.workspace);

    const again = spawnCli('starter', starterArgs(dirs, batchId), { cwd: dirs.root, env });
    const exit = await again.exited;
    expect({ code: exit.code, out: describeExit(exit) }).toMatchObject({ code: 0 });
    expect(exit.stdout).toMatch(new RegExp(`Re-attaching to batch ${batchId} \\(running`));
    expect(exit.stdout).not.toMatch(/Started batch/);
    expectFinishedOnceEach(s, dirs, batchId, snap, { callsCutOff: true });
  }, 600_000);

  /**
   * Kills the dev server at the crash point and starts it again on the same SQLite file after
   * `outageMs`. With `starterMustSurvive`, start-batch has to follow the batch through the
   * outage on its own; otherwise, if it gave up, the documented resume path (the same command,
   * the same --batch-id) is taken.
   */
  async function serverCrash(first: number, outageMs: number, starterMustSurvive: boolean) {
    // The worker lives through the outage, so the calls it holds are not cut off: they answer
    // well after the server is back (an answer that came during the outage could not be
    // reported, and its retry would be a second call that proves nothing).
    const s = scenario(first, 60_000 + outageMs);
    const dirs = setup(s);
    const batchId = `crash-server-${first}-${Date.now()}`;
    const dev: DevServerProcess = await startDevServerProcess({
      dbFile: path.join(dirs.root, 'temporal.db'),
      cwd: dirs.root,
    });
    const env = crashEnv(dev.address, dirs.state);
    // A call in flight survives an outage shorter than its heartbeat timeout. (A longer outage
    // times the attempt out in the server, and Temporal runs the call again: at least once.)
    if (outageMs > 0) env.WINGMAN_LLM_HEARTBEAT_MS = String(outageMs * 3);
    const connect = async () =>
      new Client({ connection: await Connection.connect({ address: dev.address }), dataConverter });
    let client = await connect();

    const starter = spawnCli('starter', starterArgs(dirs, batchId), { cwd: dirs.root, env });
    try {
      await starter.waitForOutput(/Started batch/, 180_000);
      await waitForCrashPoint(client, batchId, s, dirs, () => starter.output().slice(-3000));
      await client.connection.close();

      await dev.kill9();
      const snap = snapshot(s, dirs.workspace);
      if (outageMs > 0) await sleep(outageMs); // a deliberate outage, not a wait for a condition
      await dev.restart();
      client = await connect();

      let exit = await starter.exited;
      const survived = exit.code === 0;
      if (starterMustSurvive && !survived) {
        throw new Error(
          `start-batch gave up during a ${outageMs / 1000} s outage ` +
            `instead of following the batch through it (${describeExit(exit)})`,
        );
      } else if (!survived) {
        console.warn(
          `FINDING: start-batch did not survive a dev server restart (${describeExit(exit)}); ` +
            're-running it with the same --batch-id',
        );
        const again = spawnCli('starter', starterArgs(dirs, batchId), { cwd: dirs.root, env });
        exit = await again.exited;
        expect(exit.stdout).toMatch(/Re-attaching to batch/);
      }
      expect({ code: exit.code, out: describeExit(exit) }).toMatchObject({ code: 0 });
      const description = await client.workflow.getHandle(batchWorkflowId(batchId)).describe();
      expect(description.status.name).toBe('COMPLETED');
      expectFinishedOnceEach(s, dirs, batchId, snap, { callsCutOff: !survived });
    } finally {
      await client.connection.close().catch(() => undefined);
      await dev.stop();
    }
  }

  test('(b) the dev server restarted on the same SQLite file: the batch finishes, every worker passes', async () => {
    await serverCrash(721, 0, false);
  }, 600_000);

  test('(b2) the dev server down for 30 s: start-batch follows the batch through the outage and exits 0', async () => {
    // By itself: start-batch is not run again.
    await serverCrash(741, 30_000, true);
  }, 600_000);
});

test('(d) the worker killed during a test run: the run is retried soon after a new worker starts', async () => {
  // Soon: not after checkOutput's 15-minute timeout.
  const server = await testServer();
  const id = 'WORKER_731';
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-crash-tests-'));
  const workspace = path.join(root, 'workspace');
  const state = path.join(root, 'state');
  mkdirSync(path.join(workspace, 'wingman/tests'), { recursive: true });
  const runs = path.join(workspace, 'wingman/tests/runs.txt');
  // The first run is slow (the crash lands in it), later ones are quick.
  writeFileSync(
    path.join(workspace, 'wingman/tests/test_slow731.py'),
    [
      'import os, time',
      'from slow731.impl import value',
      "RUNS = os.path.join(os.path.dirname(__file__), 'runs.txt')",
      '',
      'def test_value():',
      '    first = not os.path.exists(RUNS)',
      "    with open(RUNS, 'a') as f:",
      "        f.write(f'{os.getpid()}\\n')",
      '    if first:',
      '        time.sleep(30)',
      '    assert value() == 731',
      '',
    ].join('\n'),
  );
  writeInstructions(path.join(root, 'workers'), [
    { id, files: ['wingman/slow731/impl.py'], test: 'pytest tests/test_slow731.py -q' },
  ]);
  llm.script(id, [{ code: 'def value() -> int:\n    return 731\n' }]);
  const batchId = `crash-tests-${Date.now()}`;
  const env = crashEnv(server.address, state);

  let worker = spawnCli('worker', [], { cwd: root, env });
  await worker.waitForOutput(/worker polling/, 180_000);
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
      '--no-worker',
    ],
    { cwd: root, env },
  );
  const pids = () => (existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').filter(Boolean).map(Number) : []);
  await waitFor(() => pids().length === 1, {
    timeoutMs: 180_000,
    what: 'the first test run to start',
    detail: () => starter.output(),
  });
  orphans.push(...pids()); // pytest runs in its own process group: it outlives the worker

  await worker.killGroup('SIGKILL');
  worker = spawnCli('worker', [], { cwd: root, env });
  await worker.waitForOutput(/worker polling/, 180_000);

  // With a heartbeat timeout on checkOutput (the files, the tests, then the criteria) the dead worker is noticed
  // within it; without one, the activity is only retried after its 15-minute start-to-close timeout.
  const retried = await waitFor(() => pids().length >= 2, {
    timeoutMs: 120_000,
    what: 'checkOutput to be retried',
  }).catch(() => false);
  if (!retried) {
    const history = await server.client.workflow.getHandle(instructionWorkflowId(batchId, id)).fetchHistory();
    const scheduled = history.events?.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkOutput',
    )?.activityTaskScheduledEventAttributes;
    const seconds = (d: { seconds?: unknown } | null | undefined) =>
      d && Number(d.seconds ?? 0) > 0 ? `${Number(d.seconds)}s` : 'none';
    throw new Error(
      'checkOutput was not retried within 120 s of the new worker starting: ' +
        `it was scheduled with heartbeatTimeout=${seconds(scheduled?.heartbeatTimeout)} ` +
        `startToCloseTimeout=${seconds(scheduled?.startToCloseTimeout)}, ` +
        "so a killed worker's test run is only noticed when the start-to-close timeout expires",
    );
  }
  orphans.push(...pids());
  const exit = await starter.exited;
  expect({ code: exit.code, out: describeExit(exit) }).toMatchObject({ code: 0 });
  // The deliverable was written before the crash and not again.
  expect(existsSync(path.join(state, 'previous'))).toBe(false);
}, 600_000);

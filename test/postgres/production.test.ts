// start-batch on the real Temporal server on PostgreSQL (scripts/temporal-postgres.sh up), as a
// self-hosting team runs it: a fresh cluster (no `default` namespace, no search attributes), the
// server SIGKILLed mid-batch and restarted, start-batch SIGKILLed and re-run with the same
// --batch-id. Every worker passes and no LLM answer is paid for twice (the stand-in counts calls).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Client } from '@temporalio/client';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.js';
import { instructionWorkflowId } from '../../src/workflows/batch/messages.js';
import { cliEnv, runCli } from '../support/cli.js';
import { writeInstructions, type InstructionSpec } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { killAllGroups, spawnCli, type Exit } from '../support/process-group.js';
import { waitFor } from '../support/wait.js';
import { clusterAddress, connectCluster, killServer, restartServer } from './cluster.js';

let llm: LlmStandIn;
let address: string;
let client: Client;

beforeAll(async () => {
  address = await clusterAddress();
  client = await connectCluster(address, 'default');
  llm = await startLlmStandIn();
});
afterAll(async () => {
  await killAllGroups();
  await llm?.close();
  await client?.connection.close();
});

const code = (id: string) => `# ${id}\nVALUE = ${Number(id.slice(7))}\n\n\ndef value() -> int:\n    return VALUE\n`;
const file = (id: string) => `wingman/pg/w${id.slice(7)}.py`;
const STACK_LINE = /^\s+at .+\(.*:\d+:\d+\)$/m;

function project(specs: InstructionSpec[]) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-pg-'));
  const dirs = {
    root,
    workspace: path.join(root, 'workspace'),
    workers: path.join(root, 'workers'),
    state: path.join(root, 'state'),
  };
  mkdirSync(path.join(dirs.workspace, 'wingman', 'pg'), { recursive: true });
  writeInstructions(dirs.workers, specs);
  return dirs;
}

function env(namespace: string, state: string) {
  return cliEnv({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    OPENAI_API_KEY: 'sk-test-postgres-not-a-real-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    OPENAI_MODEL: 'gpt-4o-mini',
    WINGMAN_STATE_DIR: state,
    // Long enough for a call to live through the server's restart; short enough that a call held
    // by a killed start-batch is retried soon.
    WINGMAN_LLM_HEARTBEAT_MS: '15000',
    WINGMAN_LLM_MAX_ATTEMPTS: '4',
    WINGMAN_LLM_RETRY_INITIAL_MS: '200',
    WINGMAN_LLM_RETRY_MAX_MS: '1000',
  });
}

const args = (dirs: { workers: string; workspace: string }, batchId: string, ...extra: string[]) => [
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
const statuses = (id: string) => llm.callsFor(id).map((c) => c.status);
const inFlight = (id: string) => llm.callsFor(id).some((c) => c.status === 0 && !c.aborted);

/** LLM generations Temporal has recorded as completed in a worker's history (-1: not started). */
async function recordedGenerations(batchId: string, id: string): Promise<number> {
  let history;
  try {
    history = await client.workflow.getHandle(instructionWorkflowId(batchId, id)).fetchHistory();
  } catch {
    return -1;
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

async function namespaceExists(namespace: string): Promise<boolean> {
  try {
    await client.connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 5) return false;
    throw err;
  }
}

describe('start-batch on Temporal with PostgreSQL', () => {
  test('a fresh cluster: the batch runs on the first try, survives a server crash and a re-attach', async () => {
    // Nothing is paid twice.
    // Fresh: the cluster has no `default` namespace, hence no search attributes either.
    if (await namespaceExists('default')) {
      throw new Error(
        'this tier needs a fresh cluster (no `default` namespace): ' +
          'scripts/temporal-postgres.sh down && scripts/temporal-postgres.sh up',
      );
    }
    const done = ['WORKER_801', 'WORKER_802', 'WORKER_803']; // answered before the server crash
    const slow = ['WORKER_804', 'WORKER_805']; // in flight through the server crash, answered after it
    const late = ['WORKER_806', 'WORKER_807']; // depend on the slow ones; in flight when start-batch is killed
    const ids = [...done, ...slow, ...late];
    const specs: InstructionSpec[] = ids.map((id, i) => ({
      id,
      files: [file(id)],
      dependsOn: late.includes(id) ? [slow[i - done.length - slow.length]!] : [],
    }));
    const dirs = project(specs);
    for (const id of done) llm.script(id, [{ code: code(id), delayMs: 200 }]);
    for (const id of slow)
      llm.script(id, [
        { code: code(id), delayMs: 20_000 },
        { code: code(id), delayMs: 200 },
      ]);
    for (const id of late)
      llm.script(id, [
        { code: code(id), delayMs: 180_000 },
        { code: code(id), delayMs: 200 },
      ]);
    const batchId = `pg-${Date.now()}`;
    const e = env('default', dirs.state);
    const resultOf = (id: string) => path.join(dirs.root, 'results', batchId, 'workers', `${id}.json`);

    const first = spawnCli('starter', args(dirs, batchId), { cwd: dirs.root, env: e });
    await first.waitForOutput(/Started batch/, 180_000);
    expect(first.output()).toContain(`Created Temporal namespace "default" at ${address}`);

    // The server crash: some workers done and recorded, the slow ones waiting for the LLM.
    await waitFor(
      async () => {
        if (!done.every((id) => existsSync(resultOf(id)))) return false;
        if (!slow.every(inFlight)) return false;
        for (const id of done) if ((await recordedGenerations(batchId, id)) !== 1) return false;
        return true;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 300,
        what: 'the first workers done and the slow ones in flight',
        detail: () => first.output().slice(-3000),
      },
    );
    const crashAt = Date.now();
    await killServer();
    await restartServer();
    const outageMs = Date.now() - crashAt;

    // start-batch follows the batch through the outage; the slow answers arrive after it and are
    // recorded, and the late workers start. Then start-batch (with its worker) is SIGKILLed.
    await waitFor(
      async () => {
        if (!first.running())
          throw new Error(
            `start-batch gave up during the server's restart (${outageMs} ms):\n${describeExit(await first.exited)}`,
          );
        if (!late.every(inFlight)) return false;
        for (const id of slow) if ((await recordedGenerations(batchId, id)) !== 1) return false;
        return true;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 300,
        what: 'the slow answers recorded and the late workers in flight',
        detail: () => first.output().slice(-3000),
      },
    );
    const killed = await first.killGroup('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');

    const again = spawnCli('starter', args(dirs, batchId), { cwd: dirs.root, env: e });
    const exit = await again.exited;
    expect({ code: exit.code, out: describeExit(exit) }).toMatchObject({ code: 0 });
    expect(exit.stdout).toMatch(new RegExp(`Re-attaching to batch ${batchId} \\(running`));
    expect(exit.stdout).not.toMatch(/Started batch|Created Temporal namespace/);
    expect(exit.stderr).not.toMatch(STACK_LINE);

    const report = JSON.parse(readFileSync(path.join(dirs.root, 'results', batchId, 'report.json'), 'utf8')) as Report;
    expect(report.status).toBe('completed');
    expect(report.counts).toEqual({ passed: 7, failed: 0, guide: 0, llm_timeout: 0, error: 0, skipped: 0 });
    // Paid calls (HTTP 200) per worker: one each. The late workers' first call was cut off by the
    // kill (no answer, nothing paid) and asked once more.
    for (const id of [...done, ...slow]) expect({ id, calls: statuses(id) }).toEqual({ id, calls: [200] });
    for (const id of late) expect({ id, calls: statuses(id) }).toEqual({ id, calls: [0, 200] });
    for (const id of ids) expect(readFileSync(path.join(dirs.workspace, file(id)), 'utf8')).toBe(code(id));
    console.log(
      `postgres tier: server down and back in ${outageMs} ms (SIGKILL, then scripts/temporal-postgres.sh up)`,
    );
  }, 600_000);

  test('a missing namespace other than `default` is refused in two lines; --create-namespace creates it', async () => {
    // And the batch runs in it.
    const namespace = `wingman-pg-${Date.now()}`;
    const dirs = project([{ id: 'WORKER_821', files: [file('WORKER_821')] }]);
    llm.script('WORKER_821', [{ code: code('WORKER_821'), delayMs: 100 }]);
    const e = env(namespace, dirs.state);

    const refused = await runCli('starter', args(dirs, 'pg-refused'), { cwd: dirs.root, env: e });
    expect({ code: refused.exitCode, stderr: refused.stderr }).toMatchObject({ code: 3 });
    const lines = refused.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`Temporal namespace "${namespace}" does not exist at ${address}.`);
    expect(lines[1]).toContain('--create-namespace');
    expect(lines[1]).toContain(`temporal operator namespace create --namespace ${namespace} --address ${address}`);
    expect(await namespaceExists(namespace)).toBe(false);
    expect(statuses('WORKER_821')).toEqual([]);

    const created = await runCli('starter', args(dirs, 'pg-created', '--create-namespace'), { cwd: dirs.root, env: e });
    expect({ code: created.exitCode, out: `${created.stdout}\n${created.stderr}` }).toMatchObject({ code: 0 });
    expect(created.stdout).toContain(`Created Temporal namespace "${namespace}"`);
    expect(created.stderr).not.toMatch(STACK_LINE);
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
    expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES)));
    expect(statuses('WORKER_821')).toEqual([200]);
  }, 300_000);

  test('any other Temporal error at start is one line naming the server, not a stack trace', async () => {
    // The server refuses a namespace name longer than it allows.
    const namespace = `wingman-${'x'.repeat(300)}`;
    const dirs = project([{ id: 'WORKER_831', files: [file('WORKER_831')] }]);
    const r = await runCli('starter', args(dirs, 'pg-bad-name', '--create-namespace'), {
      cwd: dirs.root,
      env: env(namespace, dirs.state),
    });
    expect({ code: r.exitCode, stderr: r.stderr }).toMatchObject({ code: 4 });
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^Temporal at ${address.replace(/\./g, '\\.')} \\(namespace wingman-x+\\): .+`),
    );
    expect(statuses('WORKER_831')).toEqual([]);
  }, 120_000);
});

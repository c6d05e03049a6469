// 50,000 instructions planned and started for real (not --dry-run): the plan reaches the batch
// by reference in compact pages, each far below Temporal's 2 MB payload limit (the old single
// plan payload passed it near 12,000 instructions). A few hundred workers run through the real
// CLI, its in-process worker, a real dev server and the instant LLM stand-in; then an abort, and
// the report accounts for all 50,000 exactly once.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OUTCOMES, type BatchSummary, type Report } from '../../src/schemas.js';
import { abortSignal, batchWorkflowId, progressQuery } from '../../src/workflows/batch/messages.js';
import { cliEnv } from '../support/cli.js';
import { writeInstructions, type InstructionSpec } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { killAllGroups, spawnCli } from '../support/process-group.js';
import { startTestServer } from '../support/temporal.js';
import { waitFor } from '../support/wait.js';

const INSTRUCTIONS = Number(process.env.WINGMAN_BIG_INSTRUCTIONS ?? 50_000);
const CONCURRENCY = 50;
/** Workers that end before the test aborts the batch. */
const RUN = 300;
const TIMEOUT_MS = 40 * 60_000;
const TWO_MB = 2 * 1024 * 1024;

let server: TestWorkflowEnvironment;
let llm: LlmStandIn;

beforeAll(async () => {
  server = await startTestServer();
  llm = await startLlmStandIn();
});
afterAll(async () => {
  await killAllGroups();
  await llm?.close();
  await server?.teardown();
});

const id = (n: number) => `WORKER_${String(n).padStart(5, '0')}`;

/** Modules in packages of 500; one in seven depends on the one before, one in 40 rewrites its package's shared file. */
function specs(n: number): InstructionSpec[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const pkg = `wingman/big/p${String(Math.floor(i / 500)).padStart(3, '0')}`;
    return {
      id: id(i),
      name: `Big module ${i}`,
      files: [i % 40 === 0 ? `${pkg}/shared.py` : `${pkg}/m${i}.py`],
      dependsOn: i % 7 === 0 ? [id(i - 1)] : [],
    };
  });
}

test(
  `${INSTRUCTIONS} instructions: planned, started, ${RUN} workers run, aborted; the report lists every one once`,
  async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-big-'));
    const workspace = path.join(root, 'workspace');
    mkdirSync(workspace);
    const workers = path.join(root, 'workers');
    let t = Date.now();
    writeInstructions(workers, specs(INSTRUCTIONS));
    const writeSeconds = (Date.now() - t) / 1000;
    llm.fallback(({ workerId }) => ({ code: `"""${workerId}."""\n\n\ndef value() -> int:\n    return 1\n` }));

    const batchId = `big-${Date.now()}`;
    t = Date.now();
    const cli = spawnCli(
      'starter',
      [
        '--workers',
        workers,
        '--workspace',
        workspace,
        '--python-root',
        'wingman',
        '--batch-id',
        batchId,
        '--concurrency',
        String(CONCURRENCY),
        '--json',
      ],
      {
        cwd: root,
        env: cliEnv({
          TEMPORAL_ADDRESS: server.address,
          OPENAI_API_KEY: 'sk-test-big-not-a-real-key',
          OPENAI_BASE_URL: llm.openaiBaseUrl,
          WINGMAN_STATE_DIR: path.join(root, 'state'),
        }),
      },
    );
    await cli.waitForOutput(/Started batch/, TIMEOUT_MS / 2);
    const planSeconds = (Date.now() - t) / 1000;
    const handle = server.client.workflow.getHandle(batchWorkflowId(batchId));
    t = Date.now();
    const progress = await waitFor(
      async () => {
        const p = await handle.query(progressQuery).catch(() => undefined);
        return p && OUTCOMES.reduce((s, o) => s + p.counts[o], 0) >= RUN ? p : undefined;
      },
      { timeoutMs: TIMEOUT_MS / 2, intervalMs: 1000, what: `${RUN} workers to end` },
    );
    const runSeconds = (Date.now() - t) / 1000;
    expect(progress.total).toBe(INSTRUCTIONS);
    await handle.signal(abortSignal, 'big-batch test: enough');
    t = Date.now();
    const exit = await cli.exited;
    const reportSeconds = (Date.now() - t) / 1000;
    expect({ code: exit.code, tail: exit.output.slice(-3000) }).toMatchObject({ code: 2 });

    const summary = (await handle.result()) as BatchSummary;
    const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as Report;
    expect(report.workers).toHaveLength(INSTRUCTIONS);
    expect(new Set(report.workers.map((w) => w.id)).size).toBe(INSTRUCTIONS);
    const listed = Object.fromEntries(OUTCOMES.map((o) => [o, report.workers.filter((w) => w.outcome === o).length]));
    expect(summary.counts).toEqual(listed);
    expect(summary.counts.passed).toBeGreaterThanOrEqual(RUN - CONCURRENCY);
    // The abort stopped it early: what ended after the count was seen is a few seconds' worth, not the batch.
    expect(INSTRUCTIONS - summary.counts.skipped).toBeLessThan(RUN + 1_000);

    // Every payload the batch's runs took in (plan pages, details pages, the carried state) stays small.
    let largest = 0;
    let runs = 0;
    for await (const run of server.client.workflow.list({ query: `WorkflowId = "${batchWorkflowId(batchId)}"` })) {
      runs += 1;
      const history = await server.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      for (const e of history.events ?? []) {
        const payloads =
          e.activityTaskCompletedEventAttributes?.result?.payloads ??
          e.workflowExecutionStartedEventAttributes?.input?.payloads ??
          e.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads ??
          e.activityTaskScheduledEventAttributes?.input?.payloads ??
          [];
        for (const p of payloads) largest = Math.max(largest, p.data?.length ?? 0);
      }
    }
    console.log(
      `big batch: ${INSTRUCTIONS} instructions written in ${writeSeconds.toFixed(0)} s, ` +
        `planned and started in ${planSeconds.toFixed(0)} s, ` +
        `${RUN} ended in ${runSeconds.toFixed(0)} s, abort and report in ${reportSeconds.toFixed(0)} s; ` +
        `${runs} run(s); largest payload ${(largest / 1024).toFixed(0)} KB; counts ${JSON.stringify(summary.counts)}`,
    );
    expect(largest).toBeLessThan(TWO_MB / 4);
    rmSync(root, { recursive: true, force: true });
  },
  TIMEOUT_MS,
);

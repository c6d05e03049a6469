// npm run batch -- status|pause|resume|abort|concurrency ID [N|REASON] [--json], npm run batch -- list
// Steers a running batch through its query, signals and update; lists the unfinished ones.
// npm run batch -- retro ID [--report FILE] [--json]: the review questions answered from its report.
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { formatProgress } from './cli/follow.js';
import { openBatches } from './cli/open-batches.js';
import { formatReview, reviewOf } from './report/review.js';
import { ArtifactStore } from './activities/artifacts.js';
import { ConfigError, readConfig, type Config } from './config.js';
import type { BatchSummary, Progress, Report } from './schemas.js';
import { queuesOfBatch } from './temporal/batch-queues.js';
import { connectClient } from './temporal/connection.js';
import { BATCH_ID } from './temporal/search-attributes.js';
import {
  abortSignal,
  batchWorkflowId,
  pauseSignal,
  progressQuery,
  resumeSignal,
  setConcurrencyUpdate,
} from './workflows/batch/messages.js';

const USAGE =
  'usage: npm run batch -- status|pause|resume|abort|concurrency BATCH_ID [N | REASON] [--json]\n' +
  '       npm run batch -- list [--json]\n' +
  '       npm run batch -- retro BATCH_ID [--report FILE] [--json]';

export async function batchControl(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, report: { type: 'string' } },
    allowPositionals: true,
  });
  const [command, batchId, extra] = positionals;
  if (command === 'retro' && batchId) return retro(batchId, values.report, values.json);
  if (command === 'list') return listBatches(values.json ?? false);
  if (!command || !batchId || !['status', 'pause', 'resume', 'abort', 'concurrency'].includes(command)) {
    console.error(USAGE);
    return 3;
  }
  let c;
  try {
    c = readConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 3;
    }
    throw err;
  }
  const client = await connectClient(c);
  const handle = client.workflow.getHandle(batchWorkflowId(batchId));
  try {
    // An ended batch has no worker to answer a query: its status is its result.
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') {
      if (command !== 'status') {
        console.error(`batch ${batchId} has already ended (${status.name.toLowerCase()})`);
        return 3;
      }
      if (status.name !== 'COMPLETED') {
        console.log(
          values.json
            ? JSON.stringify({ batchId, state: status.name.toLowerCase() })
            : `batch ${batchId} ended ${status.name.toLowerCase()}`,
        );
        return 0;
      }
      const summary = (await handle.result()) as BatchSummary;
      const progress = progressOf(summary);
      console.log(
        values.json ? JSON.stringify(progress) : `${formatProgress(progress)}\nReport: ${summary.reportPath}`,
      );
      return 0;
    }
    if (command === 'pause') await handle.signal(pauseSignal);
    if (command === 'resume') await handle.signal(resumeSignal);
    if (command === 'abort') {
      await handle.signal(abortSignal, extra);
      // A batch nobody serves would only end when resumed: end it here, without paying for anything.
      if (!(await answersQueries(client, handle))) return await endUnserved(client, c, batchId, values.json ?? false);
    }
    if (command === 'concurrency') {
      const n = Number(extra);
      if (!Number.isInteger(n) || n < 1) {
        console.error(`concurrency must be a whole number, got ${extra ?? 'nothing'}\n${USAGE}`);
        return 3;
      }
      await handle.executeUpdate(setConcurrencyUpdate, { args: [n] });
    }
    const progress = await handle.query(progressQuery);
    console.log(values.json ? JSON.stringify(progress) : formatProgress(progress));
    return 0;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      console.error(`no batch ${batchId} (workflow ${batchWorkflowId(batchId)}) in namespace ${c.TEMPORAL_NAMESPACE}`);
      return 3;
    }
    throw err;
  } finally {
    await client.connection.close();
  }
}

/**
 * The review of a finished batch, from its report: `--report FILE`, else `results/<ID>/report.json`,
 * else the report path the batch's result names (asked of Temporal).
 */
async function retro(batchId: string, reportFile: string | undefined, json: boolean): Promise<number> {
  let file = reportFile ?? path.resolve('results', batchId, 'report.json');
  let text = await readFile(file, 'utf8').catch(() => null);
  if (text === null && !reportFile) {
    try {
      const client = await connectClient(readConfig());
      try {
        file = ((await client.workflow.getHandle(batchWorkflowId(batchId)).result()) as BatchSummary).reportPath;
      } finally {
        await client.connection.close();
      }
      text = await readFile(file, 'utf8').catch(() => null);
    } catch (err) {
      console.error(
        `no report for batch ${batchId} at ${file}, and Temporal could not say where it is: ${(err as Error).message}`,
      );
      return 3;
    }
  }
  if (text === null) {
    console.error(`no report for batch ${batchId} at ${file}`);
    return 3;
  }
  const report = JSON.parse(text) as Report;
  const review = reviewOf(report, 5, await failedTestOutput(report));
  console.log(json ? JSON.stringify(review) : formatReview(report, review));
  return 0;
}

/**
 * The last test output of each failed worker, from this host's artifact store (where the batch ran);
 * none when it is elsewhere.
 */
async function failedTestOutput(report: Report): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let store: ArtifactStore;
  try {
    store = new ArtifactStore(path.join(readConfig().stateDir, 'artifacts'));
  } catch {
    return out;
  }
  for (const w of report.workers) {
    if (w.outcome === 'failed' && w.testOutputRef && (await store.has(w.testOutputRef)))
      out[w.id] = await store.get(w.testOutputRef);
  }
  return out;
}

/** The unfinished batches of the namespace, with their progress when a worker serves them. */
async function listBatches(json: boolean): Promise<number> {
  const c = readConfigOrNull();
  if (!c) return 3;
  const client = await connectClient(c);
  try {
    const batches = await openBatches(client);
    if (!json && batches.length === 0) console.log(`No unfinished batches on namespace ${c.TEMPORAL_NAMESPACE}.`);
    for (const b of batches) {
      const handle = client.workflow.getHandle(b.workflowId);
      let progress: Progress | null = null;
      try {
        // Only a worker serving the batch answers; a batch nobody serves would keep the query waiting.
        progress = await client.withDeadline(Date.now() + 3_000, () => handle.query(progressQuery));
      } catch {
        progress = null;
      }
      const endedQuery =
        `${BATCH_ID.name} = "${b.batchId}" AND WorkflowType = "instructionWorkflow" ` +
        'AND ExecutionStatus != "Running"';
      const ended = progress ? null : await client.workflow.count(endedQuery);
      if (json) {
        console.log(
          JSON.stringify({
            batchId: b.batchId,
            startedAt: b.startTime.toISOString(),
            served: progress !== null,
            progress,
            workersEnded: ended?.count ?? null,
          }),
        );
      } else if (progress) {
        console.log(`${b.batchId}  started ${b.startTime.toISOString()}  ${formatProgress(progress)}`);
      } else {
        console.log(
          `${b.batchId}  started ${b.startTime.toISOString()}  ${ended?.count ?? 0} workers ended | ` +
            `no worker serves it: resume with start-batch --batch-id ${b.batchId}, ` +
            `or npm run batch -- abort ${b.batchId}`,
        );
      }
    }
    return 0;
  } finally {
    await client.connection.close();
  }
}

/**
 * Whether a worker serves the batch: it answers a query. (The server refuses a query at once when
 * nobody has polled the batch's queue lately, and a worker that is gone leaves it unanswered.)
 */
async function answersQueries(client: Client, handle: WorkflowHandle): Promise<boolean> {
  try {
    await client.withDeadline(Date.now() + 5_000, () => handle.query(progressQuery));
    return true;
  } catch {
    return false;
  }
}

/**
 * Serves an aborted batch's workflows and workspace activities, never its LLM queues, until it has
 * ended: its running workers are cancelled, the rest skipped, and the report written.
 */
async function endUnserved(client: Client, c: Config, batchId: string, json: boolean): Promise<number> {
  const logFile = path.resolve('results', batchId, 'worker.log');
  console.log(`No worker serves batch ${batchId}: ending it here, without LLM calls (logs: ${logFile})…`);
  // Loaded here only: the other commands must start quickly, without the worker's code.
  const [{ installRuntime }, { createWorkers }, { connectWorker }] = await Promise.all([
    import('./temporal/runtime.js'),
    import('./worker.js'),
    import('./temporal/connection.js'),
  ]);
  installRuntime(c, { log: { file: logFile } });
  const connection = await connectWorker(c);
  const workers = await createWorkers({
    connection,
    config: c,
    batches: [await queuesOfBatch(client, c, batchId)],
    llm: false,
  });
  const runs = workers.map((w) => w.run().catch(() => undefined));
  try {
    const summary = (await client.workflow.getHandle(batchWorkflowId(batchId)).result()) as BatchSummary;
    const progress = progressOf(summary);
    console.log(json ? JSON.stringify(progress) : `${formatProgress(progress)}\nReport: ${summary.reportPath}`);
    return 0;
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.all(runs);
    await connection.close();
  }
}

function readConfigOrNull(): Config | null {
  try {
    return readConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return null;
    }
    throw err;
  }
}

/** The progress of an ended batch, from its result. */
function progressOf(s: BatchSummary): Progress {
  return {
    batchId: s.batchId,
    state: s.status,
    total: Object.values(s.counts).reduce((a, b) => a + b, 0),
    counts: s.counts,
    running: [],
    concurrency: 0,
    costUsd: s.costUsd,
    tokens: s.tokens,
    startedAt: s.startedAt,
    abortReason: s.abortReason,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  batchControl(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(4);
    },
  );
}

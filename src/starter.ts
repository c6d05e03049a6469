// start-batch: validate the instructions, make sure Temporal and a worker are there, start the
// batch (or re-attach to it), follow it, and exit with a code that says how it ended:
// 0 every worker passed, 1 finished with some not passed (or the whole suite failed), 2 aborted, 3 input refused.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { saveManifest } from './activities/manifest-store.js';
import { checkBlobStores } from './cli/blob-stores.js';
import { checkProviders, checkRouter, PROVIDER_HELP } from './cli/providers.js';
import { providerSplitOf } from './cli/provider-split.js';
import { follow } from './cli/follow.js';
import { aborted, Detached, Reachability, waitForResult } from './cli/wait-for-result.js';
import { Interrupt } from './cli/interrupt.js';
import { openBatches } from './cli/open-batches.js';
import { providerFailureNotes, Terminal } from './cli/terminal.js';
import { applyReplay } from './cli/replay.js';
import { formatPlan, plan, withGenerationEstimates } from './cli/plan.js';
import { checkRunners } from './cli/runner-check.js';
import { parseStartArgs, UsageError, type StartArgs } from './cli/start-args.js';
import { ConfigError, configuredProviders, readConfig, type Config } from './config.js';
import { DevServerBusy, startDevServer, type DevServer } from './temporal/dev-server.js';
import { ownQueues, queuesOfBatch, sameQueues, sharedQueues, type BatchQueues } from './temporal/batch-queues.js';
import { InputError, loadManifest } from './instructions/manifest.js';
import { checkTestCommand, CommandError, DEFAULT_RUNNERS, parseRunners } from './instructions/commands.js';
import { readSuite, suiteFailed, suiteLine } from './report/suite.js';
import { PathError, resolveInside } from './instructions/paths.js';
import type { BatchInput, BatchOptions, BatchSummary, ManifestEntry, Provider } from './schemas.js';
import { BATCH_ID } from './temporal/search-attributes.js';
import { installRuntime } from './temporal/runtime.js';
import { connectClient, connectWorker, temporalAnswers } from './temporal/connection.js';
import { ensureNamespace, mayCreateByDefault } from './temporal/namespace.js';
import {
  attributeNotServedYet,
  ensureSearchAttributes,
  whileServerCatchesUp,
} from './temporal/search-attribute-setup.js';
import { temporalErrorLine } from './temporal/errors.js';
import { batchWorkflowId } from './workflows/batch/messages.js';
import type { batchWorkflow } from './workflows/batch/workflow.js';
import { createWorkers } from './worker.js';
import { describeIsolation, detectIsolation, IsolationRefused } from './activities/process/sandbox.js';

export const EXIT = { passed: 0, notAllPassed: 1, aborted: 2, refused: 3 } as const;

export async function startBatch(argv: string[]): Promise<number> {
  let args: StartArgs;
  let c: Config;
  try {
    args = parseStartArgs(argv);
    c = readConfig();
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) return refuse(err.message);
    throw err;
  }

  const workspace = path.resolve(args.workspace);
  // A missing workspace is created (after the instructions are checked); something else in its place is refused.
  if (existsSync(workspace) && !isDirectory(workspace))
    return refuse(`workspace ${workspace} exists and is not a directory`);
  let pythonRoot: string;
  try {
    pythonRoot = resolveInside(workspace, args.pythonRoot);
  } catch (err) {
    if (err instanceof PathError) return refuse(`--python-root: ${err.message}`);
    throw err;
  }

  let manifest: ManifestEntry[];
  try {
    const loaded = await loadManifest({
      workersDir: path.resolve(args.workers),
      workspace,
      pythonRoot: args.pythonRoot,
      only: args.only,
      defaultProvider: c.defaultProvider,
      allowedRunners: c.WINGMAN_ALLOWED_RUNNERS ? parseRunners(c.WINGMAN_ALLOWED_RUNNERS) : undefined,
    });
    manifest = loaded.entries;
    for (const d of loaded.dropped)
      console.log(`${d.id}: dependency ${d.dependency} is not in --only; taken as done by an earlier batch`);
  } catch (err) {
    if (err instanceof InputError) return refuse(`instructions refused, nothing was started:\n${err.message}`);
    throw err;
  }

  if (args.replayFrom) {
    try {
      const replayed = await applyReplay(manifest, path.resolve('results', args.replayFrom, 'report.json'));
      manifest = replayed.entries;
      console.log(
        `Reusing the code batch ${args.replayFrom} generated for ${replayed.reused} of ${manifest.length} workers`,
      );
    } catch (err) {
      return refuse((err as Error).message);
    }
  }

  if (args.dryRun) {
    console.log(formatPlan(plan(manifest, configuredProviders(c), c), args.budget));
    return EXIT.passed;
  }

  const [checks, router] = await Promise.all([checkProviders(c), checkRouter(c)]);
  if (router) console.log(router);
  const available: Provider[] = checks.filter((ch) => ch.ok).map((ch) => ch.provider);
  for (const ch of checks.filter((x) => !x.ok)) console.error(`provider ${ch.provider} unavailable: ${ch.detail}`);
  if (available.length === 0) return refuse(PROVIDER_HELP);
  const missingRunner = await checkRunners(manifest, c.WINGMAN_PYTHON);
  if (missingRunner) return refuse(missingRunner);
  if (!args.noWorker) {
    // The worker started here runs the generated code: say how it is isolated, or refuse without isolation.
    try {
      const line = describeIsolation(await detectIsolation());
      if (args.json) console.error(line);
      else console.log(line);
    } catch (err) {
      if (err instanceof IsolationRefused) return refuse(err.message);
      throw err;
    }
  }

  // The whole suite after the last worker: an allowed runner, like every test command.
  let suite: BatchOptions['suite'] = null;
  try {
    const runners = c.WINGMAN_ALLOWED_RUNNERS ? parseRunners(c.WINGMAN_ALLOWED_RUNNERS) : DEFAULT_RUNNERS;
    if (!args.noSuite) suite = { command: checkTestCommand(args.suite ?? 'pytest', runners) };
  } catch (err) {
    if (err instanceof CommandError) return refuse(`--suite: ${err.message}`);
    throw err;
  }

  const batchId = args.batchId ?? newBatchId();
  const options: BatchOptions = {
    workspace,
    pythonRoot: path.relative(workspace, pythonRoot) || '.',
    concurrency: args.concurrency,
    budgetUsd: args.budget,
    thresholds: {
      minSample: args.minSample,
      guideRate: args.maxGuideRate,
      failedRate: args.maxFailedRate,
      llmTimeoutRate: args.maxTimeoutRate,
      errorRate: args.maxErrorRate,
    },
    llm: {
      timeoutMs: c.WINGMAN_LLM_TIMEOUT_MS,
      heartbeatMs: c.WINGMAN_LLM_HEARTBEAT_MS,
      maxAttempts: c.WINGMAN_LLM_MAX_ATTEMPTS,
      initialRetryMs: c.WINGMAN_LLM_RETRY_INITIAL_MS,
      maxRetryMs: c.WINGMAN_LLM_RETRY_MAX_MS,
      scheduleToStartMs: c.WINGMAN_LLM_SCHEDULE_TO_START_MS,
      temperature: c.WINGMAN_LLM_TEMPERATURE,
      maxTokens: c.WINGMAN_LLM_MAX_TOKENS,
    },
    providers: available,
    reportPath: path.resolve(args.report ?? path.join('results', batchId, 'report.json')),
    // Set below, once it is known whether this batch gets queues of its own.
    workspaceQueue: c.WINGMAN_WORKSPACE_QUEUE,
    llmQueues: sharedQueues(c).llm,
    cache: args.cache,
    suite,
  };
  try {
    mkdirSync(pythonRoot, { recursive: true });
  } catch (err) {
    return refuse(`cannot create the python root ${pythonRoot}: ${(err as Error).message}`);
  }

  const terminal = new Terminal({ json: args.json });
  const logFile = path.resolve('results', batchId, 'worker.log');
  const observe = providerFailureNotes((line) => terminal.note(line));
  // Metrics come from the process that runs workers: with --no-worker, the separate worker serves them.
  // start-batch handles Ctrl-C itself (below), so the SDK must not shut workers down on its own.
  installRuntime(args.noWorker ? { ...c, WINGMAN_METRICS_PORT: undefined } : c, {
    log: args.verbose ? { observe, shutdownSignals: [] } : { file: logFile, observe, shutdownSignals: [] },
  });
  if (!args.verbose) console.log(`Logs of Temporal and the worker: ${logFile}`);

  const interrupt = new Interrupt();
  const run: Running = { workers: [], runs: [] };
  const work = startAndFollow(args, c, { batchId, manifest, options, terminal, interrupt, run });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, aborted(interrupt.signal)]);
  } catch (err) {
    if (!(err instanceof Detached)) throw err;
    terminal.end();
    await stopWorkers(run.workers, run.runs, DETACH_DRAIN_MS);
    await run.server?.stop();
    run.server = undefined;
    const resume = resumeCommand(argv, batchId);
    console.log(
      `Detached from batch ${batchId}: it stays in Temporal; calls in flight are left to Temporal's timeouts.`,
    );
    console.log(`Resume it with: ${resume}`);
    return interrupt.exitCode();
  } finally {
    await stopWorkers(run.workers, run.runs, 0);
    await run.server?.stop();
    interrupt.dispose();
  }
}

/** What the detach path must stop, filled in as start-batch gets there. */
interface Running {
  server?: DevServer;
  workers: Worker[];
  runs: Promise<void>[];
}

/** Long enough for a workflow task or a quick activity in progress to report; LLM calls are not waited for. */
const DETACH_DRAIN_MS = 3_000;

async function startAndFollow(
  args: StartArgs,
  c: Config,
  o: {
    batchId: string;
    manifest: ManifestEntry[];
    options: BatchOptions;
    terminal: Terminal;
    interrupt: Interrupt;
    run: Running;
  },
): Promise<number> {
  const { batchId, options, terminal, interrupt, run } = o;
  let address = c.TEMPORAL_ADDRESS;
  if (!(await temporalAnswers(c))) {
    console.log(`No Temporal server at ${address}: starting a local dev server (data in .temporal/)…`);
    try {
      run.server = await startDevServer(c, { address, dataDir: path.resolve('.temporal') });
    } catch (err) {
      if (err instanceof DevServerBusy) return refuse(err.message);
      throw err;
    }
    if (interrupt.signal.aborted) throw new Detached();
    address = run.server.address;
  }
  const client = await connectClient(c, address);
  if (!run.server) {
    const create = args.createNamespace || mayCreateByDefault(c.TEMPORAL_NAMESPACE, address);
    const ns = await ensureNamespace(client, { namespace: c.TEMPORAL_NAMESPACE, address, create });
    if (ns.kind === 'missing') return refuse(ns.message);
    await ensureSearchAttributes(client, c.TEMPORAL_NAMESPACE);
  }

  // This batch's queues: those it already has when it exists, else its own unless workers run elsewhere.
  const existing = await describeBatch(client, batchId);
  const queues = existing
    ? await queuesOfBatch(client, c, batchId)
    : args.noWorker
      ? sharedQueues(c)
      : ownQueues(c, batchId);
  const serve: BatchQueues[] = [queues];
  const others = (await openBatches(client)).filter((b) => b.batchId !== batchId);
  if (others.length > 0) {
    const names = others.map((b) => `${b.batchId} (started ${b.startTime.toISOString()})`).join(', ');
    if (args.resumeOthers && !args.noWorker) {
      console.log(`Also resuming the other unfinished batches on namespace ${c.TEMPORAL_NAMESPACE}: ${names}`);
      for (const b of others) serve.push(await queuesOfBatch(client, c, b.batchId));
    } else {
      console.log(`Other unfinished batches on namespace ${c.TEMPORAL_NAMESPACE}, not run by this command: ${names}`);
      console.log('  resume one with --batch-id ID, all with --resume-others; see them with npm run batch -- list');
    }
  }
  if (!args.noWorker) {
    if (!sameQueues(queues, ownQueues(c, batchId)) && serve.length === 1) {
      console.log(`Batch ${batchId} uses the shared task queues: this worker serves every batch on them.`);
    }
    run.workers.push(
      ...(await createWorkers({
        connection: await connectWorker(c, address),
        config: c,
        batches: uniqueQueues(serve),
        // Running activities are never cancelled by a shutdown: a Ctrl-C leaves them to Temporal's timeouts,
        // exactly as a crash would, instead of failing them (which would spend a retry or a fallback).
        shutdownGraceTime: '1 day',
      })),
    );
    run.runs.push(...run.workers.map((w) => w.run().catch(() => undefined)));
  }
  if (args.noWorker) {
    // Workers elsewhere: can they pass large texts to each other (a shared blob store)?
    const llmQueues = options.providers.map((p) => queues.llm[p]);
    const stores = await checkBlobStores(client, {
      namespace: c.TEMPORAL_NAMESPACE,
      workspaceQueue: queues.workspace,
      llmQueues,
      manifest: o.manifest,
    });
    if (stores.refuse) return refuse(`refused, nothing was started: ${stores.refuse}`);
    if (stores.warn) console.error(`warning: ${stores.warn}`);
  }
  if (interrupt.signal.aborted) throw new Detached();

  const estimated = withGenerationEstimates(o.manifest, options.providers, c);
  const manifestRef = await saveManifest(path.join(c.stateDir, 'manifests'), estimated);
  const input: BatchInput = {
    batchId,
    manifest: manifestRef,
    options: { ...options, workspaceQueue: queues.workspace, llmQueues: queues.llm },
  };
  const handle = await startOrAttach(client, queues.workflow, input, existing);
  const ui = c.TEMPORAL_UI_URL ?? run.server?.uiUrl ?? defaultUiUrl(address);
  if (ui)
    console.log(`Web UI: ${ui}/namespaces/${c.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(handle.workflowId)}`);

  const reach = new Reachability((line) => terminal.note(line));
  const result = waitForResult<BatchSummary>(handle, { reach, signal: interrupt.signal });
  await follow(handle, result, { json: args.json, terminal, reach, client, batchId });
  const summary = await result;
  await stopWorkers(run.workers, run.runs, DETACH_DRAIN_MS);
  printSummary(summary, args.json);
  if (!args.json) for (const line of await providerSplitOf(summary.reportPath)) console.log(line);
  // The whole suite's result is in the report: a failing suite fails the batch even when every worker passed.
  const suiteResult = await readSuite(summary.reportPath);
  if (suiteResult && !args.json) console.log(suiteLine(suiteResult));
  if (summary.status === 'aborted') return EXIT.aborted;
  if (suiteFailed(suiteResult)) return EXIT.notAllPassed;
  return summary.counts.passed === Object.values(summary.counts).reduce((a, b) => a + b, 0)
    ? EXIT.passed
    : EXIT.notAllPassed;
}

/** Shuts the workers down and waits for them at most `waitMs` (what still runs after that dies with the process). */
async function stopWorkers(workers: Worker[], runs: Promise<void>[], waitMs: number): Promise<void> {
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  if (waitMs > 0) await Promise.race([Promise.all(runs), new Promise((r) => setTimeout(r, waitMs))]);
}

function uniqueQueues(list: BatchQueues[]): BatchQueues[] {
  return list.filter((q, i) => list.findIndex((other) => sameQueues(q, other)) === i);
}

/** The batch's workflow description, or undefined when there is no batch under this id yet. */
async function describeBatch(client: Client, batchId: string) {
  try {
    return await client.workflow.getHandle(batchWorkflowId(batchId)).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** The command that resumes this batch: the same one, with its --batch-id. */
export function resumeCommand(argv: string[], batchId: string): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const withId =
    argv.includes('--batch-id') || argv.some((a) => a.startsWith('--batch-id='))
      ? argv
      : [...argv, '--batch-id', batchId];
  return `npm run start-batch -- ${withId.map(quote).join(' ')}`;
}

/** Starts the batch, or re-attaches to the one already running (or finished) under this id. */
async function startOrAttach(
  client: Client,
  taskQueue: string,
  input: BatchInput,
  described: Awaited<ReturnType<typeof describeBatch>>,
) {
  const workflowId = batchWorkflowId(input.batchId);
  if (described) {
    console.log(
      `Re-attaching to batch ${input.batchId} ` +
        `(${described.status.name.toLowerCase()}, started ${described.startTime.toISOString()})`,
    );
    return client.workflow.getHandle<typeof batchWorkflow>(workflowId);
  }
  try {
    // A server with more than one frontend may not know the attributes everywhere yet.
    const start = () =>
      client.workflow.start<typeof batchWorkflow>('batchWorkflow', {
        workflowId,
        taskQueue,
        args: [input],
        typedSearchAttributes: [{ key: BATCH_ID, value: input.batchId }],
        staticSummary: `Wingman batch ${input.batchId}: ${input.manifest.total} workers`,
        staticDetails:
          `workspace ${input.options.workspace}, python root ${input.options.pythonRoot}, ` +
          `providers ${input.options.providers.join(', ')}`,
      });
    const handle = await whileServerCatchesUp(start, attributeNotServedYet);
    console.log(
      `Started batch ${input.batchId}: ${input.manifest.total} workers, concurrency ${input.options.concurrency}`,
    );
    return handle;
  } catch (err) {
    // Another starter won the race for this id: follow that one.
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      return client.workflow.getHandle<typeof batchWorkflow>(workflowId);
    throw err;
  }
}

function printSummary(s: BatchSummary, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(s));
    return;
  }
  const counts = Object.entries(s.counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const reason = s.abortReason ? ` (${s.abortReason})` : '';
  console.log(`Batch ${s.batchId} ${s.status}${reason}: ${counts}; cost $${s.costUsd.toFixed(4)}`);
  console.log(`Report: ${s.reportPath}`);
}

function refuse(message: string): number {
  console.error(message);
  return EXIT.refused;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function newBatchId(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

function defaultUiUrl(address: string): string | undefined {
  const [host, port] = address.split(':');
  return host === 'localhost' || host === '127.0.0.1' ? `http://${host}:${Number(port ?? 7233) + 1000}` : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  startBatch(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      // Not one of the contract's codes: a crash says nothing about how the batch went. An error
      // from Temporal is one line in the server's words; anything else keeps its stack trace.
      const c = {
        address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233',
        namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
      };
      console.error(temporalErrorLine(err, c) ?? (err instanceof Error ? (err.stack ?? err.message) : err));
      process.exit(4);
    },
  );
}

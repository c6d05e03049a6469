// start-batch: validate the instructions, make sure Temporal and a worker are there, start the
// batch (or re-attach to it), follow it, and exit with a code that says how it ended:
// 0 every worker passed, 1 finished with some not passed (or the whole suite failed), 2 aborted, 3 input refused.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { saveManifest } from './activities/manifest-store.js';
import { checkBlobStores } from './cli/blob-stores.js';
import { checkProviders, checkRouter, PROVIDER_HELP } from './cli/providers.js';
import { providerSplitOf } from './cli/provider-split.js';
import { follow } from './cli/follow.js';
import { waitForResult } from './cli/wait-for-result.js';
import { applyReplay } from './cli/replay.js';
import { formatPlan, plan, withGenerationEstimates } from './cli/plan.js';
import { checkRunners } from './cli/runner-check.js';
import { parseStartArgs, UsageError, type StartArgs } from './cli/start-args.js';
import { ConfigError, configuredProviders, readConfig, type Config } from './config.js';
import { startDevServer, type DevServer } from './temporal/dev-server.js';
import { InputError, loadManifest } from './instructions/manifest.js';
import { checkTestCommand, CommandError, DEFAULT_RUNNERS, parseRunners } from './instructions/commands.js';
import { readSuite, suiteFailed, suiteLine } from './report/suite.js';
import { PathError, resolveInside } from './instructions/paths.js';
import type { BatchInput, BatchOptions, BatchSummary, ManifestEntry, Provider } from './schemas.js';
import { DEFAULT_LLM_QUEUES } from './schemas.js';
import { BATCH_ID } from './temporal/search-attributes.js';
import { installRuntime } from './temporal/runtime.js';
import { connectClient, connectWorker, temporalAnswers } from './temporal/connection.js';
import { ensureNamespace, mayCreateByDefault } from './temporal/namespace.js';
import { attributeNotServedYet, ensureSearchAttributes, whileServerCatchesUp } from './temporal/search-attribute-setup.js';
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
  if (!isDirectory(workspace)) return refuse(`workspace ${workspace} is not a directory`);
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
    for (const d of loaded.dropped) console.log(`${d.id}: dependency ${d.dependency} is not in --only; taken as done by an earlier batch`);
  } catch (err) {
    if (err instanceof InputError) return refuse(`instructions refused, nothing was started:\n${err.message}`);
    throw err;
  }

  if (args.replayFrom) {
    try {
      const replayed = await applyReplay(manifest, path.resolve('results', args.replayFrom, 'report.json'));
      manifest = replayed.entries;
      console.log(`Reusing the code batch ${args.replayFrom} generated for ${replayed.reused} of ${manifest.length} workers`);
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
    workspaceQueue: c.WINGMAN_WORKSPACE_QUEUE,
    cache: args.cache,
    llmQueues: DEFAULT_LLM_QUEUES,
    suite,
  };
  mkdirSync(pythonRoot, { recursive: true });

  // Metrics come from the process that runs workers: with --no-worker, the separate worker serves them.
  installRuntime(args.noWorker ? { ...c, WINGMAN_METRICS_PORT: undefined } : c);
  let server: DevServer | undefined;
  let address = c.TEMPORAL_ADDRESS;
  if (!(await temporalAnswers(c))) {
    console.log(`No Temporal server at ${address}: starting a local dev server (data in .temporal/)…`);
    server = await startDevServer(c, { address, dataDir: path.resolve('.temporal') });
    address = server.address;
  }
  const workers: Worker[] = [];
  try {
    const client = await connectClient(c, address);
    if (!server) {
      const create = args.createNamespace || mayCreateByDefault(c.TEMPORAL_NAMESPACE, address);
      const ns = await ensureNamespace(client, { namespace: c.TEMPORAL_NAMESPACE, address, create });
      if (ns.kind === 'missing') return refuse(ns.message);
      await ensureSearchAttributes(client, c.TEMPORAL_NAMESPACE);
    }
    if (!args.noWorker) workers.push(...(await createWorkers({ connection: await connectWorker(c, address), config: c })));
    if (args.noWorker) {
      const llmQueues = options.providers.map((p) => options.llmQueues[p]);
      const stores = await checkBlobStores(client, { namespace: c.TEMPORAL_NAMESPACE, workspaceQueue: c.WINGMAN_WORKSPACE_QUEUE, llmQueues, manifest });
      if (stores.refuse) return refuse(`refused, nothing was started: ${stores.refuse}`);
      if (stores.warn) console.error(`warning: ${stores.warn}`);
    }
    const running = workers.map((w) => w.run());

    const manifestRef = await saveManifest(path.join(c.stateDir, 'manifests'), withGenerationEstimates(manifest, available, c, c.WINGMAN_LLM_MAX_TOKENS));
    const handle = await startOrAttach(client, c, { batchId, manifest: manifestRef, options });
    const ui = c.TEMPORAL_UI_URL ?? server?.uiUrl ?? defaultUiUrl(address);
    if (ui) console.log(`Web UI: ${ui}/namespaces/${c.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(handle.workflowId)}`);

    const result = waitForResult<BatchSummary>(handle);
    await follow(handle, result, { json: args.json });
    const summary = await result;
    for (const w of workers) w.shutdown();
    await Promise.all(running);
    printSummary(summary, args.json);
    if (!args.json) for (const line of await providerSplitOf(summary.reportPath)) console.log(line);
    // The whole suite's result is in the report: a failing suite fails the batch even when every worker passed.
    const suiteResult = await readSuite(summary.reportPath);
    if (suiteResult && !args.json) console.log(suiteLine(suiteResult));
    if (summary.status === 'aborted') return EXIT.aborted;
    if (suiteFailed(suiteResult)) return EXIT.notAllPassed;
    return summary.counts.passed === Object.values(summary.counts).reduce((a, b) => a + b, 0) ? EXIT.passed : EXIT.notAllPassed;
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await server?.stop();
  }
}

/** Starts the batch, or re-attaches to the one already running (or finished) under this id. */
async function startOrAttach(client: Client, c: Config, input: BatchInput) {
  const workflowId = batchWorkflowId(input.batchId);
  try {
    const existing = client.workflow.getHandle<typeof batchWorkflow>(workflowId);
    const described = await existing.describe();
    console.log(`Re-attaching to batch ${input.batchId} (${described.status.name.toLowerCase()}, started ${described.startTime.toISOString()})`);
    return existing;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  try {
    // A server with more than one frontend may not know the attributes everywhere yet.
    const start = () => client.workflow.start<typeof batchWorkflow>('batchWorkflow', {
      workflowId,
      taskQueue: c.TEMPORAL_TASK_QUEUE,
      args: [input],
      typedSearchAttributes: [{ key: BATCH_ID, value: input.batchId }],
      staticSummary: `Wingman batch ${input.batchId}: ${input.manifest.total} workers`,
      staticDetails: `workspace ${input.options.workspace}, python root ${input.options.pythonRoot}, providers ${input.options.providers.join(', ')}`,
    });
    const handle = await whileServerCatchesUp(start, attributeNotServedYet);
    console.log(`Started batch ${input.batchId}: ${input.manifest.total} workers, concurrency ${input.options.concurrency}`);
    return handle;
  } catch (err) {
    // Another starter won the race for this id: follow that one.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle<typeof batchWorkflow>(workflowId);
    throw err;
  }
}

function printSummary(s: BatchSummary, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(s));
    return;
  }
  const counts = Object.entries(s.counts).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`Batch ${s.batchId} ${s.status}${s.abortReason ? ` (${s.abortReason})` : ''}: ${counts}; cost $${s.costUsd.toFixed(4)}`);
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
      const c = { address: process.env.TEMPORAL_ADDRESS ?? 'localhost:7233', namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' };
      console.error(temporalErrorLine(err, c) ?? (err instanceof Error ? err.stack ?? err.message : err));
      process.exit(4);
    },
  );
}

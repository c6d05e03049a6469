// The Temporal worker process. One process can serve every role (the default, and what
// `start-batch` runs in-process) or only some, to scale each out on its own:
//   npm run worker -- --queues llm-openai
// or the queues of particular batches that start-batch gave queues of their own:
//   npm run worker -- --batch 20261129-224500
import { Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createActivities } from './activities/index.js';
import { bundleWorkflows } from './temporal/bundle.js';
import { config as readConfig, configuredProviders, type Config } from './config.js';
import { installRuntime } from './temporal/runtime.js';
import { connectClient, connectWorker } from './temporal/connection.js';
import { queuesOfBatch, sharedQueues, type BatchQueues } from './temporal/batch-queues.js';
import type { Provider } from './schemas.js';
import type { Duration } from '@temporalio/common';
import { describeIsolation, detectIsolation } from './activities/process/sandbox.js';
import { dataConverter } from './temporal/codec.js';

type Role = { kind: 'workflow' } | { kind: 'workspace' } | { kind: 'llm'; provider: Provider };

/** Queue names this process serves: workflows, workspace, and the LLM queues of configured providers. */
export function defaultQueues(c: Config): string[] {
  return [...rolesOf(c, [sharedQueues(c)]).keys()];
}

/** Every queue of these batches, with what runs on it (LLM queues of the providers configured here only). */
export function rolesOf(c: Config, batches: BatchQueues[], opts: { llm?: boolean } = {}): Map<string, Role> {
  const roles = new Map<string, Role>();
  for (const b of batches) {
    roles.set(b.workflow, { kind: 'workflow' });
    roles.set(b.workspace, { kind: 'workspace' });
    if (opts.llm === false) continue;
    for (const provider of configuredProviders(c)) roles.set(b.llm[provider], { kind: 'llm', provider });
  }
  return roles;
}

/** The roles of queues named on the command line (`--queues`), by their shared names. */
function rolesByName(c: Config, names: string[]): Map<string, Role> {
  const shared = sharedQueues(c);
  const all = new Map<string, Role>([
    [shared.workflow, { kind: 'workflow' }],
    [shared.workspace, { kind: 'workspace' }],
    ...Object.entries(shared.llm).map(([p, q]): [string, Role] => [q, { kind: 'llm', provider: p as Provider }]),
  ]);
  return new Map(
    names.map((name) => {
      const role = all.get(name);
      if (!role) throw new Error(`unknown queue "${name}": expected ${[...all.keys()].join(', ')}`);
      return [name, role];
    }),
  );
}

export async function createWorkers(opts: {
  connection: NativeConnection;
  config: Config;
  /** Shared queue names (npm run worker --queues); default: every shared queue. */
  queues?: string[];
  /** Or the queues of these batches (their own or the shared ones). */
  batches?: BatchQueues[];
  /** With `batches`: false leaves their LLM queues unserved (nothing is paid). */
  llm?: boolean;
  bundle?: WorkflowBundleWithSourceMap;
  /** How long running activities may go on after shutdown() before they are cancelled (SDK default 0). */
  shutdownGraceTime?: Duration;
}): Promise<Worker[]> {
  const c = opts.config;
  const roles = opts.queues
    ? rolesByName(c, opts.queues)
    : rolesOf(c, opts.batches ?? [sharedQueues(c)], { llm: opts.llm });
  const activities = createActivities(c);
  const common = {
    connection: opts.connection,
    namespace: c.TEMPORAL_NAMESPACE,
    dataConverter,
    identity: workerIdentity(activities.store, c.WINGMAN_BLOB_INLINE_MAX),
    ...(opts.shutdownGraceTime !== undefined ? { shutdownGraceTime: opts.shutdownGraceTime } : {}),
  };
  const needsBundle = [...roles.values()].some((r) => r.kind === 'workflow');
  const bundle = needsBundle ? (opts.bundle ?? (await bundleWorkflows())) : undefined;
  const workers: Promise<Worker>[] = [];
  for (const [queue, role] of roles) {
    if (role.kind === 'workflow') {
      workers.push(
        Worker.create({
          ...common,
          taskQueue: queue,
          workflowBundle: bundle!,
          // A deploy that breaks replay fails the workflow loudly instead of retrying its task forever.
          workflowFailureErrorTypes: { '*': ['NondeterminismError'] },
          // An instruction's quick workspace steps run here as local activities: this process is on the
          // workspace host (it shares the workspace and the state directory with the workspace queue's worker).
          activities: activities.local,
          enableNonLocalActivities: false,
        }),
      );
    } else if (role.kind === 'workspace') {
      workers.push(Worker.create({ ...common, taskQueue: queue, activities: activities.workspace }));
    } else if (role.provider === 'openai') {
      workers.push(
        Worker.create({
          ...common,
          taskQueue: queue,
          activities: { generateOpenAI: activities.llm.generateOpenAI },
          maxConcurrentActivityTaskExecutions: c.WINGMAN_OPENAI_CONCURRENCY,
          maxTaskQueueActivitiesPerSecond: c.WINGMAN_OPENAI_RPS,
        }),
      );
    } else if (role.provider === 'ollama') {
      workers.push(
        Worker.create({
          ...common,
          taskQueue: queue,
          activities: { generateOllama: activities.llm.generateOllama },
          maxConcurrentActivityTaskExecutions: c.WINGMAN_OLLAMA_CONCURRENCY,
        }),
      );
    } else {
      workers.push(
        Worker.create({
          ...common,
          taskQueue: queue,
          activities: { generateProcessor: activities.llm.generateProcessor },
          maxConcurrentActivityTaskExecutions: c.WINGMAN_PROCESSOR_CONCURRENCY,
        }),
      );
    }
  }
  return Promise.all(workers);
}

/**
 * The default identity (pid@host) and where this process puts claim checks: `start-batch --no-worker`
 * reads it from the task queues' pollers to tell whether the workers can pass large texts to each other.
 */
export function workerIdentity(store: { where: string }, inlineMax: number): string {
  return `${process.pid}@${hostname()} blobs=${store.where} inline=${inlineMax}`;
}

/** `llm` in --queues stands for the LLM queue of every provider configured here (the LLM role of a deployment). */
export function expandQueues(queues: string[], c: Config): string[] {
  const shared = sharedQueues(c);
  return [...new Set(queues.flatMap((q) => (q === 'llm' ? configuredProviders(c).map((p) => shared.llm[p]) : [q])))];
}

/** Runs the workers until the process is told to stop (SIGINT/SIGTERM shut them down gracefully). */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { queues: { type: 'string' }, batch: { type: 'string' } } });
  const c = readConfig();
  installRuntime(c);
  const named = values.queues
    ?.split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  const queues = named === undefined ? undefined : expandQueues(named, c);
  if (queues?.length === 0)
    throw new Error(
      `--queues ${values.queues}: no queue to serve ` +
        '(for `llm`, configure a provider: OPENAI_API_KEY, OLLAMA_HOST or INTEL_LLM_PROCESSOR)',
    );
  const batchIds = values.batch
    ?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (queues && batchIds)
    throw new Error('--queues and --batch do not go together: --batch serves every queue of those batches');
  let batches: BatchQueues[] | undefined;
  if (batchIds) {
    // A batch start-batch runs with its own worker has queues of its own: serve exactly those.
    const client = await connectClient(c);
    batches = await Promise.all(batchIds.map((id) => queuesOfBatch(client, c, id)));
    await client.connection.close();
  }
  const connection = await connectWorker(c);
  const workers = await createWorkers({ connection, config: c, queues, batches });
  // Checked once at start: a worker that would run generated code unisolated refuses to start.
  if (!queues || queues.includes(c.WINGMAN_WORKSPACE_QUEUE)) console.log(describeIsolation(await detectIsolation()));
  console.log(`worker polling ${workers.map((w) => w.options.taskQueue).join(', ')} on ${c.TEMPORAL_ADDRESS}`);
  await runWorkers(workers);
  await connection.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

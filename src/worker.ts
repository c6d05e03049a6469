// The Temporal worker process. One process can serve every role (the default, and what
// `start-batch` runs in-process) or only some, to scale each out on its own:
//   npm run worker -- --queues llm-openai
import { Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createActivities } from './activities/index.js';
import { bundleWorkflows } from './temporal/bundle.js';
import { config as readConfig, configuredProviders, type Config } from './config.js';
import { installRuntime } from './temporal/runtime.js';
import { connectWorker } from './temporal/connection.js';
import { describeIsolation, detectIsolation } from './activities/process/sandbox.js';
import { dataConverter } from './temporal/codec.js';

export const LLM_QUEUES = ['llm-openai', 'llm-ollama', 'llm-processor'] as const;

/** Queue names this process serves: workflows, workspace, and the LLM queues of configured providers. */
export function defaultQueues(c: Config): string[] {
  return [c.TEMPORAL_TASK_QUEUE, c.WINGMAN_WORKSPACE_QUEUE, ...configuredProviders(c).map((p) => `llm-${p}`)];
}

export async function createWorkers(opts: {
  connection: NativeConnection;
  config: Config;
  queues?: string[];
  bundle?: WorkflowBundleWithSourceMap;
}): Promise<Worker[]> {
  const c = opts.config;
  const queues = opts.queues ?? defaultQueues(c);
  const activities = createActivities(c);
  const common = { connection: opts.connection, namespace: c.TEMPORAL_NAMESPACE, dataConverter, identity: workerIdentity(activities.store, c.WINGMAN_BLOB_INLINE_MAX) };
  const workers: Promise<Worker>[] = [];
  for (const queue of queues) {
    if (queue === c.TEMPORAL_TASK_QUEUE) {
      workers.push(
        Worker.create({
          ...common,
          taskQueue: queue,
          workflowBundle: opts.bundle ?? (await bundleWorkflows()),
          // A deploy that breaks replay fails the workflow loudly instead of retrying its task forever.
          workflowFailureErrorTypes: { '*': ['NondeterminismError'] },
          enableNonLocalActivities: false,
        }),
      );
    } else if (queue === c.WINGMAN_WORKSPACE_QUEUE) {
      workers.push(Worker.create({ ...common, taskQueue: queue, activities: activities.workspace }));
    } else if (queue === 'llm-openai') {
      workers.push(
        Worker.create({
          ...common,
          taskQueue: queue,
          activities: { generateOpenAI: activities.llm.generateOpenAI },
          maxConcurrentActivityTaskExecutions: c.WINGMAN_OPENAI_CONCURRENCY,
          maxTaskQueueActivitiesPerSecond: c.WINGMAN_OPENAI_RPS,
        }),
      );
    } else if (queue === 'llm-ollama') {
      workers.push(
        Worker.create({
          ...common,
          taskQueue: queue,
          activities: { generateOllama: activities.llm.generateOllama },
          maxConcurrentActivityTaskExecutions: c.WINGMAN_OLLAMA_CONCURRENCY,
        }),
      );
    } else if (queue === 'llm-processor') {
      workers.push(
        Worker.create({
          ...common,
          taskQueue: queue,
          activities: { generateProcessor: activities.llm.generateProcessor },
          maxConcurrentActivityTaskExecutions: c.WINGMAN_PROCESSOR_CONCURRENCY,
        }),
      );
    } else {
      throw new Error(`unknown queue "${queue}": expected ${defaultQueues(c).concat(LLM_QUEUES).join(', ')}`);
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
  return [...new Set(queues.flatMap((q) => (q === 'llm' ? configuredProviders(c).map((p) => `llm-${p}`) : [q])))];
}

/** Runs the workers until the process is told to stop (SIGINT/SIGTERM shut them down gracefully). */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { queues: { type: 'string' } } });
  const c = readConfig();
  installRuntime(c);
  const queues = values.queues === undefined ? undefined : expandQueues(values.queues.split(',').map((q) => q.trim()).filter(Boolean), c);
  if (queues?.length === 0) throw new Error(`--queues ${values.queues}: no queue to serve (for \`llm\`, configure a provider: OPENAI_API_KEY, OLLAMA_HOST or INTEL_LLM_PROCESSOR)`);
  const connection = await connectWorker(c);
  const workers = await createWorkers({ connection, config: c, queues });
  // Checked once at start: a worker that would run generated code unisolated refuses to start.
  if (workers.some((w) => w.options.taskQueue === c.WINGMAN_WORKSPACE_QUEUE)) console.log(describeIsolation(await detectIsolation()));
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

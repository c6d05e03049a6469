// The bare engine's worker process, started by the bench like Wingman's (`node --import tsx`, its
// own pid): the engine workflows bundled from bench/engine/workflows.ts and the no-op activity on one
// task queue, every option at the SDK's default. Says "worker polling" when ready, as src/worker.ts does.
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import * as activities from './activities.js';
import { ENGINE_TASK_QUEUE } from './queue.js';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const workflowsPath = fileURLToPath(new URL('./workflows.ts', import.meta.url));
  // Bundled before polling, with webpack's module list kept off the output.
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: quiet });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: ENGINE_TASK_QUEUE,
    workflowBundle: bundle,
    activities,
  });
  console.log(`worker polling ${ENGINE_TASK_QUEUE} on ${address}`);
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

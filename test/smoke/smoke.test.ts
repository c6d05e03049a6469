import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { execSync } from 'node:child_process';
import { quietRuntime } from '../support/temporal.js';
test('smoke', async () => {
  quietRuntime();
  const path = execSync('python3 -c "import shutil,sys;print(shutil.which(\'temporal\'))"').toString().trim();
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path } } });
  const bundle = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./wf.ts', import.meta.url)) });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'q',
    workflowBundle: bundle,
    activities: { hello: async (n: string) => `hi ${n}` },
  });
  const r = await worker.runUntil(
    env.client.workflow.execute('smoke', { taskQueue: 'q', workflowId: 'w1', args: ['x'] }),
  );
  expect(r).toBe('hi x');
  await env.teardown();
});

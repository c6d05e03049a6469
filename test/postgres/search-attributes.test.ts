// The search-attribute wait on the real server: right after the operator API has registered an
// attribute, the frontend's namespace cache does not know it yet, and a workflow start that sets
// it fails ("no mapping defined for search attribute"). ensureSearchAttributes returns only when
// the namespace serves them, so the start right after it succeeds (with no retry of its own).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { ensureSearchAttributes } from '../../src/temporal/search-attribute-setup.js';
import { BATCH_ID, OUTCOME, PROVIDER, WORKER_ID } from '../../src/temporal/search-attributes.js';
import { clusterAddress, connectCluster } from './cluster.js';

let client: Client;
beforeAll(async () => {
  client = await connectCluster(await clusterAddress(), 'unused');
});
afterAll(async () => {
  await client?.connection.close();
});

test('a workflow start that sets every attribute succeeds right after ensureSearchAttributes', async () => {
  // On a new namespace.
  const namespace = `wingman-sa-${Date.now()}`;
  await client.connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  const scoped = new (client.constructor as typeof Client)({ connection: client.connection, namespace });

  const registered = await ensureSearchAttributes(scoped, namespace);
  expect(registered.sort()).toEqual([BATCH_ID.name, OUTCOME.name, PROVIDER.name, WORKER_ID.name].sort());
  const handle = await scoped.workflow.start('notRegisteredAnywhere', {
    workflowId: 'sa-probe',
    taskQueue: 'nobody-polls-this',
    typedSearchAttributes: [
      { key: BATCH_ID, value: 'b' },
      { key: WORKER_ID, value: 'w' },
      { key: OUTCOME, value: 'passed' },
      { key: PROVIDER, value: 'openai' },
    ],
  });
  await handle.terminate('probe only');

  // Again: everything is there, nothing to register.
  expect(await ensureSearchAttributes(scoped, namespace)).toEqual([]);
}, 120_000);

// With --no-worker, whether the workers polling the batch's queues can pass large texts to each
// other. Each worker's identity says where it puts claim checks (`blobs=...`) and its inline limit
// (`inline=...`); the starter reads them from the queues' pollers. Texts below the limit travel
// inline and work anywhere, so different stores are refused only when an instruction is itself
// over the limit (its prompt, which quotes it whole, must go by claim check); otherwise a warning.
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { readFile } from 'node:fs/promises';
import type { ManifestEntry } from '../schemas.js';

export interface Poller {
  queue: string;
  identity: string;
  store: string | null;
  inlineMax: number | null;
}

export function parseIdentity(queue: string, identity: string): Poller {
  const store = /(?:^|\s)blobs=(\S+)/.exec(identity)?.[1] ?? null;
  const inline = /(?:^|\s)inline=(\d+)/.exec(identity)?.[1];
  return { queue, identity, store, inlineMax: inline === undefined ? null : Number(inline) };
}

export async function activityPollers(client: Client, namespace: string, queue: string): Promise<Poller[]> {
  const res = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: queue, kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (res.pollers ?? []).map((p) => parseIdentity(queue, p.identity ?? ''));
}

export interface StoreVerdict {
  refuse: string | null;
  warn: string | null;
}

/** Compares the stores of the workspace queue's pollers with those of the LLM queues the batch uses. */
export function judgeStores(
  workspace: Poller[],
  llm: Poller[],
  instructions: Array<{ id: string; bytes: number }>,
): StoreVerdict {
  const wsStores = new Set(workspace.map((p) => p.store).filter((s): s is string => s !== null));
  const apart = llm.filter((p) => p.store !== null && (wsStores.size !== 1 || !wsStores.has(p.store)));
  if (wsStores.size === 0 || apart.length === 0) return { refuse: null, warn: null };
  const limits = workspace.map((p) => p.inlineMax).filter((n): n is number => n !== null);
  const limit = limits.length > 0 ? Math.min(...limits) : null;
  const first = apart[0]!;
  const where =
    `${first.queue} workers put claim checks in ${first.store}, ` +
    `${workspace[0]!.queue} workers in ${[...wsStores].join(' and ')}`;
  const tooBig = limit === null ? [] : instructions.filter((i) => i.bytes > limit);
  if (tooBig.length > 0) {
    const ids = tooBig.map((i) => i.id).join(', ');
    const many = tooBig.length > 1;
    return {
      refuse:
        `the workers do not share a blob store (${where}) and ${ids} ${many ? 'are' : 'is'} larger than ` +
        `their inline limit (${limit} bytes), so ${many ? 'their prompts' : 'its prompt'} ` +
        'cannot reach the LLM workers: ' +
        'set WINGMAN_BLOB_S3_ENDPOINT and WINGMAN_BLOB_S3_BUCKET on every worker, ' +
        'or run the LLM and workspace roles on one machine',
      warn: null,
    };
  }
  return {
    refuse: null,
    warn:
      `workers do not share a blob store (${where}): ` +
      `texts over ${limit ?? 'the inline limit'} bytes will fail as ArtifactMissing; ` +
      'set WINGMAN_BLOB_S3_* on every worker to allow them',
  };
}

export async function checkBlobStores(
  client: Client,
  opts: { namespace: string; workspaceQueue: string; llmQueues: string[]; manifest: ManifestEntry[] },
): Promise<StoreVerdict> {
  const workspace = await activityPollers(client, opts.namespace, opts.workspaceQueue);
  const llm = (await Promise.all(opts.llmQueues.map((q) => activityPollers(client, opts.namespace, q)))).flat();
  const instructions = await Promise.all(
    opts.manifest.map(async (e) => ({ id: e.id, bytes: (await readFile(e.file)).length })),
  );
  return judgeStores(workspace, llm, instructions);
}

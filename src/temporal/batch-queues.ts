// Which task queues a batch's work goes to. A batch that start-batch runs with its own in-process
// worker gets queues of its own (the shared names with `@<batch id>`), so that worker never picks
// up another batch's workflow or activity tasks, and an interrupted batch spends nothing until
// someone resumes it by id. Batches started with --no-worker use the shared queues, which a
// standalone `npm run worker` serves (the production shape).
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { DEFAULT_LLM_QUEUES, type BatchInput, type Provider } from '../schemas.js';
import { batchWorkflowId } from '../workflows/batch/messages.js';
import { decompressPayload } from './codec.js';

export interface BatchQueues {
  /** The batch workflow's queue; its instruction workflows inherit it. */
  workflow: string;
  /** Files, tests, memory, manifest and report. */
  workspace: string;
  llm: Record<Provider, string>;
}

export function sharedQueues(c: Config): BatchQueues {
  return {
    workflow: c.TEMPORAL_TASK_QUEUE,
    workspace: c.WINGMAN_WORKSPACE_QUEUE,
    llm: { ...DEFAULT_LLM_QUEUES },
  };
}

export function ownQueues(c: Config, batchId: string): BatchQueues {
  const shared = sharedQueues(c);
  const own = (q: string) => `${q}@${batchId}`;
  return {
    workflow: own(shared.workflow),
    workspace: own(shared.workspace),
    llm: { openai: own(shared.llm.openai), ollama: own(shared.llm.ollama), processor: own(shared.llm.processor) },
  };
}

export function sameQueues(a: BatchQueues, b: BatchQueues): boolean {
  return (
    a.workflow === b.workflow &&
    a.workspace === b.workspace &&
    Object.entries(a.llm).every(([p, q]) => b.llm[p as Provider] === q)
  );
}

/**
 * The queues a batch already in Temporal uses, read from the input of its current run (a batch
 * from before queues of its own, without `llmQueues`, used the shared LLM queues).
 */
export async function queuesOfBatch(client: Client, c: Config, batchId: string): Promise<BatchQueues> {
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: c.TEMPORAL_NAMESPACE,
    execution: { workflowId: batchWorkflowId(batchId) },
    maximumPageSize: 1,
  });
  const started = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!started?.taskQueue?.name || !payload)
    throw new Error(`batch ${batchId}: its workflow has no start event to read its queues from`);
  const input = defaultPayloadConverter.fromPayload<BatchInput>(decompressPayload(payload));
  const shared = sharedQueues(c);
  return {
    workflow: started.taskQueue.name,
    workspace: input.options.workspaceQueue,
    llm: { ...shared.llm, ...input.options.llmQueues },
  };
}

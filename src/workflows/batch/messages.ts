// Messages a client can send to a running batch, shared by the workflow and the CLI.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Progress, InstructionDone } from '../../schemas.js';

export const progressQuery = defineQuery<Progress>('progress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const abortSignal = defineSignal<[reason?: string]>('abort');
/** A worker tells its batch it has ended (by workflow id, so it reaches the newest run). */
export const instructionDoneSignal = defineSignal<[InstructionDone]>('instructionDone');
export const setConcurrencyUpdate = defineUpdate<number, [concurrency: number]>('setConcurrency');

/** Readable workflow ids: the Web UI lists them as `batch-b1` and `batch-b1/WORKER_013`. */
export const batchWorkflowId = (batchId: string) => `batch-${batchId}`;
export const instructionWorkflowId = (batchId: string, workerId: string) => `batch-${batchId}/${workerId}`;

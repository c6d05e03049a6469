// Retrospectives go to mem0 (self-hosted REST: `POST /memories`, no /v1 prefix) when
// MEM0_API_URL is set, else, or when mem0 fails, to a local JSONL file. A retrospective never
// fails the worker: this never throws.
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { request } from 'undici';
import type { Config } from '../config.js';
import { Retrospective } from '../schemas.js';

export const MEM0_TIMEOUT_MS = 5_000;

/** The retrospective as a person (or mem0's fact extraction) reads it. */
export function retrospectiveText(r: Retrospective): string {
  const lines = [
    `Worker ${r.workerId} (${r.name}) in batch ${r.batchId} ended ${r.outcome} after ${r.attempts} generation${r.attempts === 1 ? '' : 's'}` +
      (r.provider ? ` with provider ${r.provider}.` : ' without a provider answering.'),
    r.files.length > 0 ? `Files: ${r.files.join(', ')}.` : 'No files were written.',
  ];
  if (r.notes.length > 0) lines.push('Notes:', ...r.notes.map((n) => `- ${n}`));
  return lines.join('\n');
}

function warn(message: string, attrs: Record<string, unknown>): void {
  try {
    Context.current().log.warn(message, attrs);
  } catch {
    console.warn(message, attrs);
  }
}

export async function storeRetrospective(deps: { config: Config; mem0TimeoutMs?: number }, input: Retrospective): Promise<{ stored: 'mem0' | 'local' }> {
  const parsed = Retrospective.safeParse(input);
  // Even a malformed one is kept locally rather than lost.
  const r = parsed.success ? parsed.data : (input as Retrospective);
  const text = retrospectiveText(r);
  let mem0Error: string | undefined;
  const base = deps.config.MEM0_API_URL;
  if (base && parsed.success) {
    try {
      await postToMem0(deps.config, base, r, text, deps.mem0TimeoutMs ?? MEM0_TIMEOUT_MS);
      return { stored: 'mem0' };
    } catch (e) {
      mem0Error = (e as Error).message;
      warn('mem0 unavailable, keeping the retrospective locally', { workerId: r.workerId, error: mem0Error });
    }
  }
  const file = path.join(deps.config.stateDir, 'memory.jsonl');
  const line = JSON.stringify({ ...r, text, storedAt: new Date().toISOString(), ...(mem0Error ? { mem0Error } : {}) });
  try {
    await mkdir(deps.config.stateDir, { recursive: true });
    // One write with O_APPEND: concurrent workers' lines do not interleave.
    await appendFile(file, `${line}\n`);
  } catch (e) {
    warn('could not store the retrospective locally either', { workerId: r.workerId, file, error: (e as Error).message });
  }
  return { stored: 'local' };
}

async function postToMem0(config: Config, base: string, r: Retrospective, text: string, timeoutMs: number): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (config.MEM0_API_KEY) headers['x-api-key'] = config.MEM0_API_KEY;
  const body = JSON.stringify({
    messages: [{ role: 'user', content: text }],
    user_id: config.MEM0_USER_ID,
    metadata: {
      batchId: r.batchId,
      workerId: r.workerId,
      name: r.name,
      outcome: r.outcome,
      provider: r.provider,
      attempts: r.attempts,
      files: r.files,
      source: 'wingman-orchestrator',
    },
  });
  const res = await request(`${base.replace(/\/+$/, '')}/memories`, {
    method: 'POST',
    headers,
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const reply = await res.body.text(); // read it all, so the connection is released
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`mem0 answered ${res.statusCode}: ${reply.slice(0, 200)}`);
}

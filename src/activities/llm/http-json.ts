// A JSON POST with undici, for the providers spoken without an SDK (Ollama, the LLM processor):
// bodies read with a size cap, HTTP errors mapped to LLM failures, the answer parsed as an object.
import { request, type Dispatcher } from 'undici';
import type { Provider } from '../../schemas.js';
import { LLM_FAILURE_TYPES, MAX_OUTPUT_BYTES, httpFailure, llmFailure } from './errors.js';
import type { CallGuard } from './guard.js';

/** JSON escaping can double code's size; anything beyond this cannot hold an acceptable completion. */
const MAX_BODY_BYTES = 2 * MAX_OUTPUT_BYTES + 64 * 1024;
const MAX_ERROR_BODY_BYTES = 16 * 1024;

async function readCapped(
  body: Dispatcher.ResponseData['body'],
  cap: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > cap) {
      body.destroy(); // free the socket instead of downloading the rest
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(buf);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

function errorDetail(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
    if (parsed.error && typeof parsed.error === 'object') return JSON.stringify(parsed.error);
  } catch {
    // not JSON: use the text
  }
  return text.trim();
}

export interface JsonTarget {
  provider: Provider;
  /** Full URL of the endpoint. */
  url: string;
  dispatcher?: Dispatcher;
}

export interface JsonAnswer {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  body: Record<string, unknown>;
}

export async function postJson(
  t: JsonTarget,
  payload: unknown,
  timeoutMs: number,
  guard: CallGuard,
): Promise<JsonAnswer> {
  const res = await request(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(payload),
    signal: guard.signal,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    ...(t.dispatcher ? { dispatcher: t.dispatcher } : {}),
  });
  if (res.statusCode >= 400) {
    const { text } = await readCapped(res.body, MAX_ERROR_BODY_BYTES);
    throw httpFailure(t.provider, res.statusCode, res.headers, errorDetail(text));
  }
  const { text, truncated } = await readCapped(res.body, MAX_BODY_BYTES);
  if (truncated)
    throw llmFailure(LLM_FAILURE_TYPES.badOutput, `response body over ${MAX_BODY_BYTES} bytes`, {
      provider: t.provider,
      status: res.statusCode,
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw llmFailure(LLM_FAILURE_TYPES.badOutput, `answer is not JSON: ${text.slice(0, 200)}`, {
      provider: t.provider,
      status: res.statusCode,
    });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw llmFailure(LLM_FAILURE_TYPES.badOutput, `answer is not a JSON object: ${text.slice(0, 200)}`, {
      provider: t.provider,
      status: res.statusCode,
    });
  }
  return { status: res.statusCode, headers: res.headers, body: parsed as Record<string, unknown> };
}

/** A token count as servers send it: a non-negative number, else 0. */
export const count = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;

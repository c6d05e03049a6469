// Ollama's native API with undici: `POST {base}/api/generate`, body
// `{model, prompt, system, stream: false}`, answer `{response, prompt_eval_count, eval_count}`.
// The LLM processor (INTEL_LLM_PROCESSOR) speaks the same body and answer at `POST {base}/generate`,
// so both go through callGenerate with a different path.
import { request, type Dispatcher } from 'undici';
import type { Provider } from '../../schemas.js';
import { LLM_FAILURE_TYPES, MAX_OUTPUT_BYTES, httpFailure, llmFailure } from './errors.js';
import type { CallGuard } from './guard.js';
import type { ProviderResult } from './types.js';

export const OLLAMA_GENERATE_PATH = '/api/generate';
export const PROCESSOR_GENERATE_PATH = '/generate';

export interface GenerateTarget {
  provider: Provider;
  baseUrl: string;
  path: string;
  model: string;
  dispatcher?: Dispatcher;
}

/** JSON escaping can double code's size; anything beyond this cannot hold an acceptable completion. */
const MAX_BODY_BYTES = 2 * MAX_OUTPUT_BYTES + 64 * 1024;
const MAX_ERROR_BODY_BYTES = 16 * 1024;

async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<{ text: string; truncated: boolean }> {
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

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);

export async function callGenerate(t: GenerateTarget, system: string, prompt: string, timeoutMs: number, guard: CallGuard): Promise<ProviderResult> {
  // Concatenated, not resolved with new URL(): a base with a path prefix keeps it.
  const url = `${t.baseUrl.replace(/\/+$/, '')}${t.path}`;
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ model: t.model, prompt, system, stream: false }),
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
  if (truncated) throw llmFailure(LLM_FAILURE_TYPES.badOutput, `response body over ${MAX_BODY_BYTES} bytes`, { provider: t.provider, status: res.statusCode });
  let parsed: { response?: unknown; model?: unknown; prompt_eval_count?: unknown; eval_count?: unknown; error?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw llmFailure(LLM_FAILURE_TYPES.badOutput, `answer is not JSON: ${text.slice(0, 200)}`, { provider: t.provider, status: res.statusCode });
  }
  if (typeof parsed.response !== 'string') {
    if (typeof parsed.error === 'string') throw httpFailure(t.provider, 500, res.headers, parsed.error);
    throw llmFailure(LLM_FAILURE_TYPES.badOutput, 'answer has no "response" string', { provider: t.provider, status: res.statusCode });
  }
  return {
    text: parsed.response,
    model: typeof parsed.model === 'string' && parsed.model ? parsed.model : t.model,
    // Ollama omits prompt_eval_count when the whole prompt came from its cache: 0 then.
    tokens: { prompt: count(parsed.prompt_eval_count), completion: count(parsed.eval_count) },
  };
}

// Maps provider failures to ApplicationFailure types the workflow can match on. Retries belong
// to Temporal: a retryable failure is retried by the activity's retry policy, a non-retryable
// one goes straight to the next provider in the chain. A failure after a billed answer carries
// what the answer cost (details[0].costUsd, .tokens) so the workflow can count it.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { Provider } from '../../schemas.js';
import type { BilledCall, LlmFailureDetails } from './billed.js';

export type { BilledCall, LlmFailureDetails } from './billed.js';

export const LLM_FAILURE_TYPES = {
  /** 429: retryable, `nextRetryDelay` from Retry-After when the server sent one. */
  rateLimited: 'LlmRateLimited',
  /** 5xx, connection refused/reset, socket closed: retryable. */
  unavailable: 'LlmUnavailable',
  /** 400/401/403/404, model not found, quota exhausted, provider not configured: non-retryable. */
  rejected: 'LlmRejected',
  /** No answer within the request's timeoutMs: non-retryable, the next provider is tried at once. */
  timeout: 'LlmTimeout',
  /** Empty, oversized, cut off at max tokens or refused completion, unparseable body: non-retryable. */
  badOutput: 'LlmBadOutput',
} as const;
export type LlmFailureType = (typeof LLM_FAILURE_TYPES)[keyof typeof LLM_FAILURE_TYPES];

/** A completion larger than this is refused (it would not be code for a handful of files). */
export const MAX_OUTPUT_BYTES = 1024 * 1024;
/** Retry-After values above this are clamped: a longer wait is better spent on the fallback provider. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

// A timeout is not retried on the same provider: a hung provider would otherwise hold the worker
// for attempts × the call timeout before the fallback is tried. 5xx and 429 stay retryable.
const NON_RETRYABLE: ReadonlySet<LlmFailureType> = new Set([
  LLM_FAILURE_TYPES.rejected,
  LLM_FAILURE_TYPES.badOutput,
  LLM_FAILURE_TYPES.timeout,
]);

export interface FailureInfo {
  provider: Provider;
  status?: number;
  nextRetryDelayMs?: number;
  /** Set when the provider answered (and billed) but the answer is unusable. */
  billed?: BilledCall;
}

/** Secrets to scrub from messages; set by the caller (the API key), plus anything key-shaped. */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out.replace(/\bsk-[A-Za-z0-9_-]{6,}/g, 'sk-[redacted]').replace(/(bearer\s+)[^\s"',]+/gi, '$1[redacted]');
}

/**
 * The failure itself. No `cause` is attached on purpose: a cause's message (an SDK error, a
 * response body) would be serialised into the history and could carry the key.
 */
export function llmFailure(
  type: LlmFailureType,
  message: string,
  info: FailureInfo,
  secrets: readonly (string | undefined)[] = [],
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message: redact(`${info.provider}: ${message}`, secrets).slice(0, 2000),
    nonRetryable: NON_RETRYABLE.has(type),
    nextRetryDelay: info.nextRetryDelayMs,
    details: [details(info)],
  });
}

function details(info: FailureInfo): LlmFailureDetails {
  const base = { provider: info.provider, status: info.status ?? null };
  return info.billed ? { ...base, costUsd: info.billed.costUsd, tokens: info.billed.tokens } : base;
}

type HeaderSource = Headers | Record<string, string | string[] | undefined> | undefined | null;

function header(h: HeaderSource, name: string): string | undefined {
  if (!h) return undefined;
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  const v = (h as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Milliseconds to wait from `retry-after-ms` (OpenAI's) or `Retry-After` (seconds or HTTP date). */
export function retryAfterMs(h: HeaderSource, now = Date.now()): number | undefined {
  let ms: number | undefined;
  const msHeader = header(h, 'retry-after-ms');
  if (msHeader !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(msHeader)) ms = Number(msHeader);
  const ra = header(h, 'retry-after');
  if (ms === undefined && ra !== undefined) {
    if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) ms = Number(ra) * 1000;
    else {
      const at = Date.parse(ra);
      if (!Number.isNaN(at)) ms = at - now;
    }
  }
  // 0 or a date in the past: let the retry policy's backoff decide.
  if (ms === undefined || !(ms > 0)) return undefined;
  return Math.min(Math.ceil(ms), MAX_RETRY_AFTER_MS);
}

const MODEL_NOT_FOUND = /model\b.{0,120}\b(not found|does not exist)|model_not_found/i;

/** An HTTP error response, whatever client received it. */
export function httpFailure(
  provider: Provider,
  status: number,
  headers: HeaderSource,
  detail: string,
  secrets: readonly (string | undefined)[] = [],
): ApplicationFailure {
  const text = `HTTP ${status}${detail ? `: ${detail.slice(0, 500)}` : ''}`;
  const info: FailureInfo = { provider, status };
  // An exhausted quota comes as a 429 but waiting does not help: go to the fallback.
  if (status === 429 && /insufficient_quota/i.test(detail))
    return llmFailure(LLM_FAILURE_TYPES.rejected, text, info, secrets);
  if (status === 429)
    return llmFailure(
      LLM_FAILURE_TYPES.rateLimited,
      text,
      { ...info, nextRetryDelayMs: retryAfterMs(headers) },
      secrets,
    );
  if (status === 408) return llmFailure(LLM_FAILURE_TYPES.timeout, text, info, secrets);
  // Some servers (older Ollama, proxies) report an unknown model with a 5xx.
  if (MODEL_NOT_FOUND.test(detail)) return llmFailure(LLM_FAILURE_TYPES.rejected, text, info, secrets);
  // 409 is OpenAI's lock timeout: transient.
  if (status >= 500 || status === 409) return llmFailure(LLM_FAILURE_TYPES.unavailable, text, info, secrets);
  return llmFailure(LLM_FAILURE_TYPES.rejected, text, info, secrets);
}

/** Why a completion that came back is not usable, or null when it is. */
export function unusable(
  text: string,
  finishReason: string | null | undefined,
  refusal?: string | null,
): string | null {
  // A cut-off answer is unfinished code even when it is not empty: another provider, not a regeneration.
  if (finishReason === 'length') return 'completion cut off at the max tokens limit';
  if (refusal && !text.trim()) return `the model refused: ${refusal.slice(0, 300)}`;
  if (!text.trim()) return 'empty completion';
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_OUTPUT_BYTES) return `completion of ${bytes} bytes exceeds ${MAX_OUTPUT_BYTES}`;
  return null;
}

/**
 * Throws LlmBadOutput for an empty, oversized, cut-off or refused completion, with what it cost in
 * details[0] (the tokens were billed all the same).
 */
export function checkOutput(
  provider: Provider,
  text: string,
  billed: BilledCall = { costUsd: 0, tokens: { prompt: 0, completion: 0 } },
  finishReason?: string | null,
  refusal?: string | null,
): void {
  const why = unusable(text, finishReason, refusal);
  if (why) throw llmFailure(LLM_FAILURE_TYPES.badOutput, why, { provider, billed });
}

/** What the call guard knows about why a request was aborted. */
export interface AbortState {
  timedOut(): boolean;
  /** The activity's cancellation reason when Temporal cancelled it, else undefined. */
  cancellation(): Error | undefined;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_ABORTED',
]);

/** Error codes along the cause chain (openai wraps fetch's TypeError, which wraps undici's error). */
function codes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') out.push(code);
    const name = (e as { name?: unknown }).name;
    if (typeof name === 'string') out.push(name);
  }
  return out;
}

function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    if (typeof e !== 'object') break;
  }
  return parts.filter(Boolean).join(': ');
}

/**
 * Any error from a provider call, as the error the activity should throw. A cancellation by
 * Temporal is passed through as the CancelledFailure (the worker reports it as cancelled, not
 * failed); everything else becomes an ApplicationFailure of one of LLM_FAILURE_TYPES.
 */
export function toLlmFailure(
  err: unknown,
  provider: Provider,
  abort: AbortState | undefined,
  secrets: readonly (string | undefined)[] = [],
): Error {
  if (err instanceof ApplicationFailure) return err;
  const cancelled = abort?.cancellation();
  if (cancelled) return cancelled;
  if (err instanceof CancelledFailure) return err;
  const info: FailureInfo = { provider };
  if (abort?.timedOut())
    return llmFailure(LLM_FAILURE_TYPES.timeout, 'no answer within the request timeout', info, secrets);

  if (err instanceof APIError && typeof err.status === 'number') {
    const body = err.error as { message?: unknown; code?: unknown; type?: unknown } | undefined;
    const detail =
      [body?.message, body?.code, body?.type].filter((x) => typeof x === 'string').join(' / ') || err.message;
    return httpFailure(provider, err.status, err.headers, detail, secrets);
  }
  if (err instanceof APIConnectionTimeoutError)
    return llmFailure(LLM_FAILURE_TYPES.timeout, 'request timed out', info, secrets);

  const found = codes(err);
  if (found.some((c) => TIMEOUT_CODES.has(c) || c === 'HeadersTimeoutError' || c === 'BodyTimeoutError')) {
    return llmFailure(LLM_FAILURE_TYPES.timeout, `request timed out (${describe(err)})`, info, secrets);
  }
  if (err instanceof APIConnectionError || found.some((c) => CONNECTION_CODES.has(c))) {
    return llmFailure(LLM_FAILURE_TYPES.unavailable, `connection failed (${describe(err)})`, info, secrets);
  }
  // Unknown: retryable, so a transient oddity (a proxy's HTML page, a parse error) gets another try.
  return llmFailure(LLM_FAILURE_TYPES.unavailable, `call failed (${describe(err)})`, info, secrets);
}

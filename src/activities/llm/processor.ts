// The LLM processor of the original setup (INTEL_LLM_PROCESSOR): `POST {base}/generate` with the
// body the original sent, `{prompt, model, max_tokens}` (plus temperature and stream: false).
// Its answer's shape was never specified, so the common ones are accepted: Ollama's `response`,
// `text`, `content`, and OpenAI-like `choices[0].message.content` / `choices[0].text`.
import type { Dispatcher } from 'undici';
import { httpFailure, llmFailure, LLM_FAILURE_TYPES } from './errors.js';
import type { CallGuard } from './guard.js';
import { count, postJson } from './http-json.js';
import type { ProviderResult, Sampling } from './types.js';

export const PROCESSOR_GENERATE_PATH = '/generate';

export interface ProcessorTarget {
  baseUrl: string;
  model: string;
  dispatcher?: Dispatcher;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** The shapes accepted, in the order they are tried, as the error names them. */
export const PROCESSOR_SHAPES = [
  'response',
  'text',
  'content',
  'choices[0].message.content',
  'choices[0].text',
] as const;

/** The completion text and where it was found, or null when no accepted shape matches. */
export function completionOf(body: Record<string, unknown>): { text: string; finishReason: string | null } | null {
  const first = Array.isArray(body.choices) && isObject(body.choices[0]) ? body.choices[0] : undefined;
  const candidates: unknown[] = [
    body.response,
    body.text,
    body.content,
    isObject(first?.message) ? first.message.content : undefined,
    first?.text,
  ];
  const text = candidates.find((c): c is string => typeof c === 'string');
  if (text === undefined) return null;
  const reason = [body.done_reason, body.finish_reason, first?.finish_reason].find(
    (r): r is string => typeof r === 'string',
  );
  return { text, finishReason: reason ?? null };
}

/** Token usage in Ollama's or OpenAI's terms; 0 when the processor reports none. */
function usageOf(body: Record<string, unknown>): { prompt: number; completion: number } {
  const usage = isObject(body.usage) ? body.usage : {};
  return {
    prompt: count(body.prompt_eval_count) || count(usage.prompt_tokens),
    completion: count(body.eval_count) || count(usage.completion_tokens),
  };
}

function describeKeys(body: Record<string, unknown>): string {
  const keys = Object.keys(body).slice(0, 20);
  const first = Array.isArray(body.choices) && isObject(body.choices[0]) ? body.choices[0] : undefined;
  if (first)
    keys.push(
      ...Object.keys(first)
        .slice(0, 10)
        .map((k) => `choices[0].${k}`),
    );
  return keys.length ? keys.join(', ') : '(none)';
}

export async function callProcessor(
  t: ProcessorTarget,
  system: string,
  prompt: string,
  sampling: Sampling,
  timeoutMs: number,
  guard: CallGuard,
): Promise<ProviderResult> {
  const url = `${t.baseUrl.replace(/\/+$/, '')}${PROCESSOR_GENERATE_PATH}`;
  // The original's processor took one prompt: the system message goes in front of it, not in a field it may ignore.
  const body = {
    prompt: `${system}\n\n${prompt}`,
    model: t.model,
    max_tokens: sampling.maxTokens,
    temperature: sampling.temperature,
    stream: false,
  };
  const answer = await postJson({ provider: 'processor', url, dispatcher: t.dispatcher }, body, timeoutMs, guard);
  const found = completionOf(answer.body);
  if (!found) {
    const error = answer.body.error;
    const message =
      typeof error === 'string'
        ? error
        : isObject(error) && typeof error.message === 'string'
          ? error.message
          : undefined;
    if (message !== undefined) throw httpFailure('processor', 500, answer.headers, message);
    throw llmFailure(
      LLM_FAILURE_TYPES.badOutput,
      `answer has none of ${PROCESSOR_SHAPES.join(', ')}; keys seen: ${describeKeys(answer.body)}`,
      { provider: 'processor', status: answer.status },
    );
  }
  return {
    text: found.text,
    model: typeof answer.body.model === 'string' && answer.body.model ? answer.body.model : t.model,
    tokens: usageOf(answer.body),
    finishReason: found.finishReason,
  };
}

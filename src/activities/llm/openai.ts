// Chat completions through the official `openai` SDK, against OPENAI_BASE_URL when set (any
// OpenAI-compatible server). Non-streaming: the activity only needs the final text.
import OpenAI from 'openai';
import type { CallGuard } from './guard.js';
import type { ProviderResult, Sampling } from './types.js';

export interface OpenAIOptions {
  apiKey: string;
  baseURL?: string;
  /** A fetch implementation for the SDK (tests, proxies); the global fetch otherwise. */
  fetch?: typeof fetch;
}

export function createOpenAIClient(opts: OpenAIOptions): OpenAI {
  return new OpenAI({
    apiKey: opts.apiKey,
    baseURL: opts.baseURL,
    // Retries belong to Temporal: the SDK's own (2 by default, with its own backoff) would hide
    // 429s and 5xx from the retry policy and multiply the time an attempt can take.
    maxRetries: 0,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
}

/** Chars per token when the server reports no usage: an over-estimate for code, on purpose (budget). */
const CHARS_PER_TOKEN = 3;

export async function callOpenAI(
  client: OpenAI,
  model: string,
  system: string,
  prompt: string,
  sampling: Sampling,
  timeoutMs: number,
  guard: CallGuard,
): Promise<ProviderResult> {
  const completion = await client.chat.completions.create(
    {
      model,
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: prompt },
      ],
      temperature: sampling.temperature,
      // `max_tokens`, as the original sent it: what OpenAI-compatible servers understand.
      max_tokens: sampling.maxTokens,
      stream: false,
    },
    // The SDK's timeout covers connect + headers only; the guard's signal covers the body too
    // and carries the activity's cancellation.
    { signal: guard.signal, timeout: timeoutMs, maxRetries: 0 },
  );
  const choice = completion.choices[0];
  const text = choice?.message?.content ?? '';
  // Some OpenAI-compatible servers omit usage; estimate rather than report a free call.
  const usage = completion.usage;
  const tokens = usage
    ? { prompt: usage.prompt_tokens ?? 0, completion: usage.completion_tokens ?? 0 }
    : {
        prompt: Math.ceil((system.length + prompt.length) / CHARS_PER_TOKEN),
        completion: Math.ceil(text.length / CHARS_PER_TOKEN),
      };
  return {
    text,
    model: completion.model || model,
    tokens,
    finishReason: choice?.finish_reason ?? null,
    refusal: choice?.message?.refusal ?? null,
  };
}

// Ollama's native API with undici: `POST {base}/api/generate`, body
// `{model, prompt, system, stream: false, options: {temperature, num_predict}}`, answer
// `{response, done_reason, prompt_eval_count, eval_count}`.
import type { Dispatcher } from 'undici';
import { httpFailure, llmFailure, LLM_FAILURE_TYPES } from './errors.js';
import type { CallGuard } from './guard.js';
import { count, postJson } from './http-json.js';
import type { ProviderResult, Sampling } from './types.js';

export const OLLAMA_GENERATE_PATH = '/api/generate';

export interface OllamaTarget {
  baseUrl: string;
  model: string;
  dispatcher?: Dispatcher;
}

export async function callOllama(
  t: OllamaTarget,
  system: string,
  prompt: string,
  sampling: Sampling,
  timeoutMs: number,
  guard: CallGuard,
): Promise<ProviderResult> {
  // Concatenated, not resolved with new URL(): a base with a path prefix keeps it.
  const url = `${t.baseUrl.replace(/\/+$/, '')}${OLLAMA_GENERATE_PATH}`;
  const body = {
    model: t.model,
    prompt,
    system,
    stream: false,
    options: { temperature: sampling.temperature, num_predict: sampling.maxTokens },
  };
  const answer = await postJson({ provider: 'ollama', url, dispatcher: t.dispatcher }, body, timeoutMs, guard);
  const parsed = answer.body;
  if (typeof parsed.response !== 'string') {
    if (typeof parsed.error === 'string') throw httpFailure('ollama', 500, answer.headers, parsed.error);
    throw llmFailure(LLM_FAILURE_TYPES.badOutput, 'answer has no "response" string', {
      provider: 'ollama',
      status: answer.status,
    });
  }
  return {
    text: parsed.response,
    model: typeof parsed.model === 'string' && parsed.model ? parsed.model : t.model,
    // Ollama omits prompt_eval_count when the whole prompt came from its cache: 0 then.
    tokens: { prompt: count(parsed.prompt_eval_count), completion: count(parsed.eval_count) },
    finishReason: typeof parsed.done_reason === 'string' ? parsed.done_reason : null,
  };
}

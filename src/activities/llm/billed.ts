// What an LLM failure says about its cost (contract 2), readable from workflow code: no Node or
// SDK imports here, only the shape of details[0] and a pure reader of it.
import type { Provider, Tokens } from '../../schemas.js';

/** What a provider answered and billed before the answer was found unusable. */
export interface BilledCall {
  costUsd: number;
  tokens: Tokens;
}

/**
 * details[0] of every LLM failure. `costUsd` and `tokens` are present only when an answer came
 * back (and was paid for); without them the call got no answer (timeout, HTTP error, refused).
 */
export interface LlmFailureDetails {
  provider: Provider;
  status: number | null;
  costUsd?: number;
  tokens?: Tokens;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * The billed cost carried by a failure (an ActivityFailure wrapping the ApplicationFailure, or
 * the ApplicationFailure itself), or null when the call was not billed (no answer came back).
 */
export function billedCostOf(err: unknown): BilledCall | null {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const details = (e as { details?: unknown }).details;
    const first: unknown = Array.isArray(details) ? details[0] : undefined;
    if (!first || typeof first !== 'object') continue;
    const { costUsd, tokens } = first as { costUsd?: unknown; tokens?: { prompt?: unknown; completion?: unknown } };
    if (isCount(costUsd) && tokens && isCount(tokens.prompt) && isCount(tokens.completion)) {
      return { costUsd, tokens: { prompt: tokens.prompt, completion: tokens.completion } };
    }
  }
  return null;
}

import type { Tokens } from '../../schemas.js';

/** What a provider call returns before it is stored and priced. */
export interface ProviderResult {
  text: string;
  /** The model that answered (as the server names it). */
  model: string;
  tokens: Tokens;
  /** Why the model stopped, as the server says it (`stop`, `length`…); null when it does not say. */
  finishReason: string | null;
  /** A refusal the model gave instead of an answer (OpenAI's `message.refusal`). */
  refusal?: string | null;
}

/** The sampling settings sent with every call (LlmPolicy's, else the worker's configuration). */
export interface Sampling {
  temperature: number;
  maxTokens: number;
}

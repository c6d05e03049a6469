import type { Tokens } from '../../schemas.js';

/** What a provider call returns before it is stored and priced. */
export interface ProviderResult {
  text: string;
  /** The model that answered (as the server names it). */
  model: string;
  tokens: Tokens;
}

// The order a worker tries the providers in. Runs in workflow code: pure and deterministic.
import type { Provider } from '../schemas.js';

/** Providers that run on the user's own machines and cost nothing, in the order they are preferred. */
export const LOCAL_PROVIDERS: readonly Provider[] = ['ollama', 'processor'];
/** Providers billed per token. */
export const PAID_PROVIDERS: readonly Provider[] = ['openai'];

export const isLocal = (p: Provider): boolean => LOCAL_PROVIDERS.includes(p);

/**
 * The primary provider first, then the other available ones: the order a worker falls back in.
 * An instruction marked local (`LLM: ollama`) tries every local provider before any paid one, so
 * with Ollama absent it goes to the processor, not to OpenAI: the local share never silently
 * becomes paid. A paid primary falls back to the local providers, then the other paid ones.
 */
export function providerChain(primary: Provider, available: readonly Provider[]): Provider[] {
  const groups = isLocal(primary) ? [LOCAL_PROVIDERS, PAID_PROVIDERS] : [PAID_PROVIDERS, LOCAL_PROVIDERS];
  const order = [primary, ...groups.flat().filter((p) => p !== primary)];
  return order.filter((p) => available.includes(p));
}

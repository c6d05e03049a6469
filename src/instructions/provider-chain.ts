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
export function providerChain(primary: Provider, available: readonly Provider[], opts: { localFirst?: boolean } = {}): Provider[] {
  if (opts.localFirst === false) return legacyChain(primary, available);
  const groups = isLocal(primary) ? [LOCAL_PROVIDERS, PAID_PROVIDERS] : [PAID_PROVIDERS, LOCAL_PROVIDERS];
  const order = [primary, ...groups.flat().filter((p) => p !== primary)];
  return order.filter((p) => available.includes(p));
}

/**
 * The patch id for workflow code: `providerChain(p, a, { localFirst: patched(LOCAL_FIRST_CHAIN) })`
 * keeps workers started before local-first existed on the chain they were already walking.
 */
export const LOCAL_FIRST_CHAIN = 'local-first-provider-chain';

/** The order before local-first: the primary, then the others as listed (for replaying old histories only). */
function legacyChain(primary: Provider, available: readonly Provider[]): Provider[] {
  return [primary, ...available.filter((p) => p !== primary)].filter((p) => available.includes(p));
}

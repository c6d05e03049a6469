import type { Provider } from '../schemas.js';

/** The primary provider first, then the other available ones: the order a worker falls back in. */
export function providerChain(primary: Provider, available: Provider[]): Provider[] {
  return [primary, ...available.filter((p) => p !== primary)].filter((p) => available.includes(p));
}

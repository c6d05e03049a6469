// Registering the custom search attributes on a server that lacks them, and waiting until the
// namespace serves them. On a real server (PostgreSQL, Elasticsearch) the operator API records a
// new attribute at once, but the frontend validates workflow starts against its namespace cache,
// which learns of it a moment later: a batch started in between fails with "no mapping defined for
// search attribute". Kept apart from search-attributes.ts, which workflow code imports.
import type { Client } from '@temporalio/client';
import { GRPC, grpcCode } from './errors.js';
import { SEARCH_ATTRIBUTES } from './search-attributes.js';

const KEYWORD = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD

export interface Patience {
  /** How long to wait for the server to show a new namespace or attribute. */
  timeoutMs: number;
  sleep?: (ms: number) => Promise<void>;
}
const DEFAULT_PATIENCE: Patience = { timeoutMs: 60_000 };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Retries `fn` with backoff (100 ms doubling to 2 s) while `transient(err)` says the server has
 * not caught up yet, until the patience runs out; any other error is thrown at once.
 */
export async function whileServerCatchesUp<T>(
  fn: () => Promise<T>,
  transient: (err: unknown) => boolean,
  p: Patience = DEFAULT_PATIENCE,
): Promise<T> {
  const deadline = Date.now() + p.timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await fn();
    } catch (err) {
      if (!transient(err) || Date.now() + delay > deadline) throw err;
      await (p.sleep ?? sleep)(delay);
    }
  }
}

/** The namespace is not in the frontend's cache yet (just created). */
export const namespaceNotServedYet = (err: unknown) => grpcCode(err) === GRPC.NOT_FOUND;

/** A start or query names an attribute the frontend's namespace cache does not know yet. */
export function attributeNotServedYet(err: unknown): boolean {
  if (grpcCode(err) !== GRPC.INVALID_ARGUMENT) return false;
  const text = `${(err as Error).message} ${String((err as { cause?: { details?: string } }).cause?.details ?? '')}`;
  return /no mapping defined for search attribute|invalid search attribute/i.test(text);
}

/**
 * Registers the attributes the namespace lacks, then waits until it serves all of them: a
 * visibility query naming every one is validated against the same cache as a workflow start.
 * Returns the names it registered.
 */
export async function ensureSearchAttributes(
  client: Client,
  namespace: string,
  p: Patience = DEFAULT_PATIENCE,
): Promise<string[]> {
  const operator = client.connection.operatorService;
  const { customAttributes } = await whileServerCatchesUp(
    () => operator.listSearchAttributes({ namespace }),
    namespaceNotServedYet,
    p,
  );
  const existing = new Set(Object.keys(customAttributes ?? {}));
  const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !existing.has(name));
  if (missing.length > 0) {
    const add = () =>
      operator.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((name) => [name, KEYWORD])),
      });
    await whileServerCatchesUp(add, namespaceNotServedYet, p).catch((err) => {
      // Another start-batch registered them in the meantime.
      if (grpcCode(err) !== GRPC.ALREADY_EXISTS) throw err;
    });
  }
  const query = Object.keys(SEARCH_ATTRIBUTES)
    .map((name) => `${name} = ''`)
    .join(' AND ');
  await whileServerCatchesUp(
    () => client.connection.workflowService.countWorkflowExecutions({ namespace, query }),
    (err) => attributeNotServedYet(err) || namespaceNotServedYet(err),
    p,
  );
  return missing;
}

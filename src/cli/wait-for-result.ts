// Waiting for a batch's result across a Temporal outage: the batch lives on in the server, so a
// server that is down or restarting is a reason to wait, not to exit.
import { ServiceError, isGrpcServiceError, type WorkflowHandle } from '@temporalio/client';

// gRPC status codes: UNAVAILABLE (server down or restarting), DEADLINE_EXCEEDED (no answer in time).
const TRANSIENT = new Set<number>([14, 4]);

export function isServerUnreachable(err: unknown): boolean {
  const cause = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(cause) && TRANSIENT.has(cause.code);
}

export async function waitForResult<T>(handle: WorkflowHandle, giveUpAfterMs = 30 * 60_000): Promise<T> {
  let lostSince: number | undefined;
  for (;;) {
    try {
      const result = (await handle.result()) as T;
      if (lostSince !== undefined) console.error('Reconnected to Temporal.');
      return result;
    } catch (err) {
      if (!isServerUnreachable(err)) throw err;
      if (lostSince === undefined) {
        lostSince = Date.now();
        console.error('Lost the connection to Temporal; waiting for it to come back (the batch is safe in the server)…');
      } else if (Date.now() - lostSince > giveUpAfterMs) {
        throw err;
      }
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}

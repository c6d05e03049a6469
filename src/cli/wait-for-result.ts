// Waiting for a batch's result across a Temporal outage: the batch lives on in the server, so a
// server that is down or restarting is a reason to wait, not to exit. The outage is one line when
// it starts and one when it ends; Ctrl-C (the abort signal) stops the wait at once.
import { ServiceError, isGrpcServiceError, type WorkflowHandle } from '@temporalio/client';

// gRPC status codes: UNAVAILABLE (server down or restarting), DEADLINE_EXCEEDED (no answer in time).
const TRANSIENT = new Set<number>([14, 4]);

export function isServerUnreachable(err: unknown): boolean {
  const cause = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(cause) && TRANSIENT.has(cause.code);
}

/** Says once that Temporal went away and once that it is back, however many calls notice it. */
export class Reachability {
  private lostSince: number | undefined;

  constructor(private readonly note: (line: string) => void) {}

  lost(): void {
    if (this.lostSince !== undefined) return;
    this.lostSince = Date.now();
    this.note('Temporal unreachable, retrying… (the batch is safe in the server)');
  }

  ok(): void {
    if (this.lostSince === undefined) return;
    this.note(`Temporal is back (after ${Math.round((Date.now() - this.lostSince) / 1000)} s).`);
    this.lostSince = undefined;
  }

  /** How long Temporal has been unreachable, 0 when it answers. */
  lostForMs(): number {
    return this.lostSince === undefined ? 0 : Date.now() - this.lostSince;
  }
}

export class Detached extends Error {
  constructor() {
    super('stopped following the batch');
  }
}

/** Resolves when the signal aborts: a race partner for calls that cannot be cancelled. */
export function aborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(new Detached());
    else signal.addEventListener('abort', () => reject(new Detached()), { once: true });
  });
}

export async function waitForResult<T>(
  handle: WorkflowHandle,
  opts: { reach: Reachability; signal?: AbortSignal; giveUpAfterMs?: number },
): Promise<T> {
  const giveUpAfterMs = opts.giveUpAfterMs ?? 30 * 60_000;
  const stop = aborted(opts.signal);
  stop.catch(() => undefined);
  for (;;) {
    try {
      const result = (await Promise.race([handle.result(), stop])) as T;
      opts.reach.ok();
      return result;
    } catch (err) {
      if (!isServerUnreachable(err)) throw err;
      opts.reach.lost();
      if (opts.reach.lostForMs() > giveUpAfterMs) throw err;
      await Promise.race([new Promise((r) => setTimeout(r, 2_000)), stop]);
    }
  }
}

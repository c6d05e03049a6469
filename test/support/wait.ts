// Polling instead of sleeping: the machine is shared and slow, so tests wait for a condition
// with a generous deadline rather than for a fixed time.

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  what?: string;
  /** Extra context for the timeout message (e.g. a process's output). */
  detail?: () => string;
}

/** Polls `check` until it returns a truthy value (which is returned); errors thrown by `check` end the wait. */
export async function waitFor<T>(check: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const interval = opts.intervalMs ?? 200;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${opts.timeoutMs ?? 120_000} ms waiting for ${opts.what ?? 'a condition'}` +
          (opts.detail ? `\n${opts.detail()}` : ''),
      );
    }
    await sleep(interval);
  }
}

/** Like waitFor, but a check that throws is retried (e.g. a server that is not up yet). */
export async function waitForNoThrow<T>(check: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  let last: unknown;
  return waitFor(
    async () => {
      try {
        return await check();
      } catch (e) {
        last = e;
        return undefined;
      }
    },
    { ...opts, detail: () => `${opts.detail?.() ?? ''}${last ? `last error: ${(last as Error).message}` : ''}` },
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

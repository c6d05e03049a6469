// One provider call's lifetime: an abort signal that fires on the activity's cancellation or on
// our own timer (the SDKs' own timeouts do not cover everything: openai's stops at the response
// headers, so a body that never ends would hang), and heartbeats while we wait, because Temporal
// delivers a cancellation (and notices a dead worker) only through heartbeats.
import { CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { AbortState } from './errors.js';

/** Heartbeat every this many ms unless the activity's heartbeat timeout asks for more often. */
export const DEFAULT_HEARTBEAT_MS = 5_000;

export interface CallGuard extends AbortState {
  signal: AbortSignal;
  dispose(): void;
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (a script, a test): no heartbeat, no cancellation
  }
}

export function guardCall(timeoutMs: number, heartbeatMs?: number): CallGuard {
  const ctx = currentContext();
  const controller = new AbortController();
  let timedOut = false;
  let cancellation: Error | undefined;

  const onCancel = (): void => {
    const reason: unknown = ctx?.cancellationSignal.reason;
    cancellation = reason instanceof Error ? reason : new CancelledFailure(String(reason ?? 'CANCELLED'));
    controller.abort(cancellation);
  };
  if (ctx?.cancellationSignal.aborted) onCancel();
  else ctx?.cancellationSignal.addEventListener('abort', onCancel, { once: true });

  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${timeoutMs} ms`));
  }, timeoutMs);

  let beat: NodeJS.Timeout | undefined;
  if (ctx) {
    const hbTimeout = ctx.info.heartbeatTimeoutMs;
    const every =
      heartbeatMs ??
      (hbTimeout ? Math.max(100, Math.min(DEFAULT_HEARTBEAT_MS, Math.floor(hbTimeout / 3))) : DEFAULT_HEARTBEAT_MS);
    ctx.heartbeat();
    beat = setInterval(() => ctx.heartbeat(), every);
  }

  return {
    signal: controller.signal,
    timedOut: () => timedOut && !cancellation,
    cancellation: () => cancellation,
    dispose: () => {
      clearTimeout(timer);
      if (beat) clearInterval(beat);
      ctx?.cancellationSignal.removeEventListener('abort', onCancel);
    },
  };
}

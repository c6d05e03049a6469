// One generation over the provider chain. Before every call the instruction's share of the budget
// is checked. A provider hands over to the next one as soon as it fails for good: after its own
// retries for 5xx and 429, at once for a timeout (a hung provider costs one time limit, not one
// per retry) and when no worker takes the call from its queue. When every provider of the chain
// timed out, the chain gets one more round: a provider that was only slow for a while may answer.
// Failed calls that were billed are costed: from the failure's details, or estimated when no
// answer came.
import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  isCancellation,
  proxyActivities,
} from '@temporalio/workflow';
import type { LlmActivities } from '../../activities/types.js';
import type {
  Blob,
  BatchOptions,
  Generation,
  InstructionInput,
  InstructionResult,
  Provider,
  Tokens,
} from '../../schemas.js';
import { providerChain } from '../../instructions/provider-chain.js';

const GENERATE: Record<Provider, keyof LlmActivities> = {
  openai: 'generateOpenAI',
  ollama: 'generateOllama',
  processor: 'generateProcessor',
};

/** An LLM call waits this long for a worker on its queue, unless the policy says otherwise. */
export const DEFAULT_SCHEDULE_TO_START_MS = 5 * 60_000;
/** Time after the call's own limit for the activity to report it (the LlmTimeout it throws). */
const SLACK_MS = 30_000;
/** Rounds over the chain when every provider timed out: the first, and one more. */
const TIMEOUT_ROUNDS = 2;
/** Local models bill nothing, even for a call that timed out. */
const BILLED: ReadonlySet<Provider> = new Set<Provider>(['openai']);

export type Budget = NonNullable<InstructionInput['budget']>;

export type Generated =
  { ok: true; generation: Generation } | { ok: false; outcome: 'llm_timeout' | 'error' | 'skipped'; error: string };

/** Why no further LLM call may be made, or null when one more generation fits in the reservation. */
export function budgetRefusal(spentUsd: number, budget: Budget | undefined): string | null {
  if (!budget) return null;
  // A hair of tolerance: three estimates summed in floating point may exceed 3 × estimate.
  if (spentUsd + budget.generationEstimateUsd <= budget.allowanceUsd + 1e-9) return null;
  return `budget: reservation of $${budget.allowanceUsd.toFixed(4)} used`;
}

interface CallFailure {
  /** The provider's own time limit or Temporal's ran out: counts toward `llm_timeout`. */
  timedOut: boolean;
  /** What the failed call cost: from the failure's details, an estimate, or nothing. */
  costUsd: number;
  tokens: Tokens;
  message: string;
}

/**
 * Generates with the chain that starts at `primary`, recording every call in `result` (attempts,
 * cost, tokens, and a failure line per failed call).
 */
export async function generate(
  req: { workerId: string; promptRef: Blob; primary: Provider },
  options: BatchOptions,
  budget: Budget | undefined,
  result: InstructionResult,
): Promise<Generated> {
  const chain = providerChain(req.primary, options.providers);
  const errors: string[] = [];
  let allTimedOut = chain.length > 0;
  for (let round = 1; round <= TIMEOUT_ROUNDS && allTimedOut; round++) {
    for (const provider of chain) {
      // A local model bills nothing: only a paid call has to fit in what is left of the reservation.
      const refusal = BILLED.has(provider) ? budgetRefusal(result.costUsd, budget) : null;
      if (refusal) return { ok: false, outcome: 'skipped', error: refusal };
      result.attempts += 1;
      try {
        return { ok: true, generation: await call(provider, req, options) };
      } catch (err) {
        // This worker cannot read what it was given: no provider can help, and no call was made.
        if (isArtifactMissing(err)) throw err;
        if (isCancellation(err)) {
          // The batch aborted while the call was out: it may still be billed.
          if (BILLED.has(provider)) result.costUsd += budget?.generationEstimateUsd ?? 0;
          throw err;
        }
        const failure = failureOf(err, provider, options, budget);
        result.costUsd += failure.costUsd;
        result.tokens.prompt += failure.tokens.prompt;
        result.tokens.completion += failure.tokens.completion;
        result.failures.push({ attempt: result.attempts, kind: 'llm', message: failure.message });
        errors.push(failure.message);
        allTimedOut &&= failure.timedOut;
      }
    }
  }
  const error = `every provider failed (${errors.join('; ')})`;
  return { ok: false, outcome: allTimedOut ? 'llm_timeout' : 'error', error };
}

function call(
  provider: Provider,
  req: { workerId: string; promptRef: Blob },
  options: BatchOptions,
): Promise<Generation> {
  const llm = proxyActivities<LlmActivities>({
    taskQueue: options.llmQueues[provider],
    // A queue no worker polls would otherwise hold the instruction (and its batch slot) forever.
    scheduleToStartTimeout: options.llm.scheduleToStartMs ?? DEFAULT_SCHEDULE_TO_START_MS,
    startToCloseTimeout: options.llm.timeoutMs + SLACK_MS,
    heartbeatTimeout: options.llm.heartbeatMs,
    retry: {
      maximumAttempts: options.llm.maxAttempts,
      initialInterval: options.llm.initialRetryMs,
      maximumInterval: options.llm.maxRetryMs,
      backoffCoefficient: 2,
      // 5xx and 429 are retried on the same provider; a timeout goes to the next provider at once.
      nonRetryableErrorTypes: ['LlmTimeout'],
    },
  });
  const { workerId, promptRef } = req;
  return llm[GENERATE[provider]]({
    workerId,
    promptRef,
    timeoutMs: options.llm.timeoutMs,
    cache: options.cache,
    temperature: options.llm.temperature,
    maxTokens: options.llm.maxTokens,
  });
}

function failureOf(err: unknown, provider: Provider, options: BatchOptions, budget: Budget | undefined): CallFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const none: Tokens = { prompt: 0, completion: 0 };
  const estimate = BILLED.has(provider) ? (budget?.generationEstimateUsd ?? 0) : 0;
  if (cause instanceof TimeoutFailure) {
    if (cause.timeoutType === 'SCHEDULE_TO_START') {
      const queue = options.llmQueues[provider];
      const waited = Math.round((options.llm.scheduleToStartMs ?? DEFAULT_SCHEDULE_TO_START_MS) / 1000);
      // Never started: nothing was sent, nothing is billed.
      const message = `${provider}: no worker took the call from queue ${queue} within ${waited} s`;
      return { timedOut: false, costUsd: 0, tokens: none, message };
    }
    const message = `${provider}: no answer within ${options.llm.timeoutMs} ms (${cause.timeoutType ?? 'timeout'})`;
    return { timedOut: true, costUsd: estimate, tokens: none, message };
  }
  const billed = cause instanceof ApplicationFailure ? billedCost(cause.details?.[0]) : null;
  const timedOut = cause instanceof ApplicationFailure && cause.type === 'LlmTimeout';
  const message = withProvider(provider, describe(err));
  if (billed) return { timedOut, costUsd: billed.costUsd, tokens: billed.tokens, message };
  return { timedOut, costUsd: timedOut ? estimate : 0, tokens: none, message };
}

/** `{ costUsd, tokens }` that an LLM activity puts in its failure's details when the call was billed. */
function billedCost(details: unknown): { costUsd: number; tokens: Tokens } | null {
  if (!details || typeof details !== 'object') return null;
  const d = details as { costUsd?: unknown; tokens?: { prompt?: unknown; completion?: unknown } };
  if (typeof d.costUsd !== 'number') return null;
  const count = (n: unknown) => (typeof n === 'number' && n > 0 ? Math.floor(n) : 0);
  return { costUsd: d.costUsd, tokens: { prompt: count(d.tokens?.prompt), completion: count(d.tokens?.completion) } };
}

function withProvider(provider: Provider, message: string): string {
  return message.startsWith(`${provider}:`) ? message : `${provider}: ${message}`;
}

/** The innermost message of a failure chain, kept short for history and the report. */
export function describe(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const message = e instanceof Error ? e.message : String(e);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

/** A claim-check blob this worker cannot read (state directories not shared): not a provider's failure. */
function isArtifactMissing(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type === 'ArtifactMissing';
}

// Wingman's own Prometheus metrics, recorded through the Temporal SDK's metric meter so they are
// served by the same endpoint as the SDK's metrics (see src/temporal/runtime.ts, WINGMAN_METRICS_PORT).
//
// Recorded from activities with `Context.current().metricMeter`, which adds the activity's tags
// (`namespace`, `taskQueue`, `activityType`) to every series. Outside a worker (unit tests calling
// activity functions directly, MockActivityEnvironment, a runtime without a metrics exporter) the
// meter is a no-op or absent, and recording never throws: metrics must not fail a worker.
//
// Naming: the SDK puts its `temporal_` prefix on its own metrics only; these keep the names below.
// The exporter adds no unit suffix and no `_total` (that would rename the SDK's counters too), so
// the unit and `_total` are part of the names. Every duration is in milliseconds, like the SDK's.
// Counters only take integers (a fraction is truncated), so cost is counted in micro-dollars.
import { Context } from '@temporalio/activity';
import type { MetricMeter, MetricTags } from '@temporalio/common';
import type { Outcome, Provider, Tokens } from '../schemas.js';

export const METRICS = {
  /**
   * counter {outcome, provider}: workers that ended, by outcome; provider is the one that produced
   * the final code, or `none`.
   */
  workers: 'wingman_workers_total',
  /** counter {provider, model, type=prompt|completion}: tokens of LLM calls made (cache hits cost none). */
  llmTokens: 'wingman_llm_tokens_total',
  /** counter {provider, model}: cost of LLM calls in micro-dollars (1e-6 USD), each call rounded to the nearest one. */
  llmCost: 'wingman_llm_cost_microusd_total',
  /** histogram {provider, model}: duration of successful LLM calls, in ms. */
  llmLatency: 'wingman_llm_latency_ms',
  /**
   * histogram {result=passed|failed|timed_out}: one runTests activity (every TEST_PROCESS command of
   * a worker), in ms.
   */
  testDuration: 'wingman_test_duration_ms',
} as const;

/**
 * Bucket bounds (ms) for the histograms; the SDK's default (50 ms … 10 s) is too short for LLM calls
 * and test runs.
 */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [METRICS.llmLatency]: [250, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000],
  [METRICS.testDuration]: [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000],
};

/** The current activity's meter, or undefined outside an activity. */
function meter(): MetricMeter | undefined {
  try {
    return Context.current().metricMeter;
  } catch {
    return undefined;
  }
}

/** Runs a recording; a metrics failure is never the activity's failure. */
function safely(record: (m: MetricMeter) => void): void {
  const m = meter();
  if (!m) return;
  try {
    record(m);
  } catch {
    // A metric that cannot be recorded is dropped.
  }
}

/** A non-negative whole number, as counters and int histograms take (NaN and negatives are 0). */
const whole = (n: number): number => (Number.isFinite(n) && n > 0 ? Math.round(n) : 0);

/** USD to whole micro-dollars (a counter only takes integers). */
export function toMicroUsd(usd: number): number {
  return whole(usd * 1_000_000);
}

/** A worker ended (recordResult, inside finishInstruction). */
export function recordWorkerOutcome(o: { outcome: Outcome; provider: Provider | null }): void {
  safely((m) => {
    m.createCounter(METRICS.workers, '1', 'Workers that ended, by outcome').add(1, {
      outcome: o.outcome,
      provider: o.provider ?? 'none',
    });
  });
}

/** An LLM call that answered (not a cache hit): its latency, tokens and cost. */
export function recordLlmCall(c: {
  provider: Provider;
  model: string;
  durationMs: number;
  tokens: Tokens;
  costUsd: number;
}): void {
  safely((m) => {
    const tags: MetricTags = { provider: c.provider, model: c.model };
    m.createHistogram(METRICS.llmLatency, 'int', 'ms', 'Duration of successful LLM calls').record(
      whole(c.durationMs),
      tags,
    );
    const tokens = m.createCounter(METRICS.llmTokens, '1', 'Tokens of LLM calls, prompt and completion');
    tokens.add(whole(c.tokens.prompt), { ...tags, type: 'prompt' });
    tokens.add(whole(c.tokens.completion), { ...tags, type: 'completion' });
    m.createCounter(METRICS.llmCost, 'microUSD', 'Cost of LLM calls in micro-dollars (1e-6 USD)').add(
      toMicroUsd(c.costUsd),
      tags,
    );
  });
}

/**
 * Starts timing a test run; `stop` records its duration. Called at the start of runTests, stopped
 * when it returns a result (a run that throws, e.g. pytest cannot start, is not recorded).
 */
export function startTestTimer(): { stop(r: { ok: boolean; timedOut: boolean }): void } {
  const started = Date.now();
  return {
    stop(r) {
      const result = r.timedOut ? 'timed_out' : r.ok ? 'passed' : 'failed';
      safely((m) => {
        m.createHistogram(METRICS.testDuration, 'int', 'ms', "Duration of a worker's test run").record(
          whole(Date.now() - started),
          { result },
        );
      });
    },
  };
}

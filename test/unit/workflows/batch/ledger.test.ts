// The batch's books without a server: every worker counted once on every path, reservations
// held and released, the error threshold, and the state carried into the next run.
import { describe, expect, test } from '@jest/globals';
import { OUTCOMES, type Counts } from '../../../../src/schemas.js';
import {
  Ledger,
  MAX_GENERATIONS,
  compressRanges,
  expandRanges,
  type Plan,
} from '../../../../src/workflows/batch/ledger.js';

const thresholds = { minSample: 4, guideRate: 0.1, failedRate: 0.2, llmTimeoutRate: 0.3, errorRate: 0.2 };
const none = { costUsd: 0, tokens: { prompt: 0, completion: 0 } };

/** n/2 pairs: worker 2k+1 depends on worker 2k. */
function pairs(n: number, estimateUsd = 0): Plan {
  return {
    ids: Array.from({ length: n }, (_, i) => `WORKER_${i + 1}`),
    deps: Array.from({ length: n }, (_, i) => (i % 2 === 1 ? [i - 1] : [])),
    after: Array.from({ length: n }, () => []),
    estimateUsd: Array.from({ length: n }, () => estimateUsd),
  };
}

const sum = (c: Counts) => OUTCOMES.reduce((s, o) => s + c[o], 0);
const lettersCount = (outcomes: string, letter: string) => [...outcomes].filter((l) => l === letter).length;

describe('Ledger', () => {
  test('the failure that trips the abort counts its skipped dependent; the rest are skipped once', () => {
    // The counts match the outcome letters of the report state.
    const l = new Ledger(pairs(30), { concurrency: 4, budgetUsd: 100, thresholds }, '2026-01-01T00:00:00Z');
    const started = l.next();
    expect(started).toEqual([0, 2, 4, 6]);
    for (const i of started) l.ended({ id: l.idOf(i), outcome: 'failed', ...none });
    expect(l.abortReason).toMatch(/too many test failures: 4 of 4/);
    const counts = l.countsNow();
    expect(counts).toMatchObject({ failed: 4, skipped: 26 });
    expect(sum(counts)).toBe(30);
    expect(l.finished).toBe(true);
    const { outcomes, notRun } = l.reportState();
    expect(lettersCount(outcomes, 'f')).toBe(4);
    expect(lettersCount(outcomes, 's')).toBe(26);
    expect(notRun.find((n) => n.reason === 'dependency WORKER_7 ended failed')?.indices).toBe('7');
    expect(notRun.reduce((s, n) => s + expandRanges(n.indices).length, 0)).toBe(26);
  });

  test('paused: dependents of a failure are skipped at once, then an abort skips the rest, nothing twice', () => {
    const l = new Ledger(
      pairs(8),
      { concurrency: 2, budgetUsd: 100, thresholds: { ...thresholds, minSample: 100 } },
      'now',
    );
    const [a, b] = l.next();
    l.pause(true);
    expect(l.next()).toEqual([]);
    l.ended({ id: l.idOf(a!), outcome: 'failed', ...none });
    l.ended({ id: l.idOf(b!), outcome: 'passed', ...none });
    l.ended({ id: l.idOf(b!), outcome: 'passed', ...none }); // a duplicate (signal and child result)
    expect(l.countsNow()).toMatchObject({ failed: 1, passed: 1, skipped: 1 });
    l.abort('aborted by operator');
    expect(l.countsNow()).toMatchObject({ failed: 1, passed: 1, skipped: 6 });
    expect(sum(l.countsNow())).toBe(8);
  });

  test('carried into the next run: counts, running workers and reasons survive; a running one ends once', () => {
    const first = new Ledger(
      pairs(6),
      { concurrency: 2, budgetUsd: 100, thresholds: { ...thresholds, minSample: 100 } },
      'then',
    );
    const [a, b] = first.next();
    first.ended({ id: first.idOf(a!), outcome: 'error', ...none }, 'worker workflow terminated');
    const carried = first.carry();
    expect(carried.outcomes).toBe('esr...');
    expect(carried.runs).toBe(1);
    const next = new Ledger(
      pairs(6),
      { concurrency: 2, budgetUsd: 100, thresholds: { ...thresholds, minSample: 100 } },
      'later',
      carried,
    );
    expect(next.startedAt).toBe('then');
    expect(next.countsNow()).toEqual(first.countsNow());
    expect(next.runningIndices()).toEqual([b]);
    next.ended({ id: next.idOf(b!), outcome: 'passed', ...none });
    next.ended({ id: next.idOf(b!), outcome: 'error', ...none }, 'a late look'); // already ended: ignored
    for (let s = next.next(); s.length > 0; s = next.next())
      for (const i of s) next.ended({ id: next.idOf(i), outcome: 'passed', ...none });
    expect(next.finished).toBe(true);
    expect(next.countsNow()).toEqual({ passed: 4, failed: 0, guide: 0, llm_timeout: 0, error: 1, skipped: 1 });
    expect(next.reportState().notRun).toEqual([
      { reason: 'worker workflow terminated', indices: '0' },
      { reason: 'dependency WORKER_1 ended error', indices: '1' },
    ]);
  });

  test('errors count toward an abort', () => {
    const l = new Ledger(pairs(20), { concurrency: 10, budgetUsd: 100, thresholds }, 'now');
    for (const i of l.next().slice(0, 4))
      l.ended({ id: l.idOf(i), outcome: 'error', ...none }, 'No module named pytest');
    expect(l.abortReason).toBe('too many errors: 4 of 4 finished workers (100% > 20%)');
  });

  test('budget: a child starts only when its reservation fits, released with the real cost', () => {
    // Nothing fits and nothing runs → abort.
    const estimate = 0.1;
    // Estimates of 0.1 per generation: a reservation of 0.3 per child, so three fit in $1.
    const plan = { ...pairs(10, estimate), deps: pairs(10).deps.map(() => []) };
    const l = new Ledger(plan, { concurrency: 10, budgetUsd: 1, thresholds: { ...thresholds, minSample: 100 } }, 'now');
    expect(l.budgetFor(0)).toEqual({ allowanceUsd: MAX_GENERATIONS * estimate, generationEstimateUsd: estimate });
    const first = l.next();
    expect(first).toHaveLength(3);
    for (const i of first)
      l.ended({ id: l.idOf(i), outcome: 'passed', costUsd: 0.25, tokens: { prompt: 1, completion: 1 } });
    // Spent 0.75: no reservation of 0.3 fits, nothing runs: the batch aborts, the rest skipped.
    expect(l.next()).toEqual([]);
    expect(l.abortReason).toMatch(
      /^budget: WORKER_4 needs a reservation of \$0\.3000 \(3 generations\); spent \$0\.7500 of \$1\.00$/,
    );
    expect(l.countsNow()).toMatchObject({ passed: 3, skipped: 7 });
    expect(l.costUsd).toBeLessThanOrEqual(1);
  });

  test('ranges round-trip', () => {
    expect(compressRanges([9, 3, 4, 5, 7])).toBe('3-5,7,9');
    expect(expandRanges('3-5,7,9')).toEqual([3, 4, 5, 7, 9]);
    expect(expandRanges('')).toEqual([]);
  });
});

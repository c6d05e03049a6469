// The scheduler restored mid-batch (after continue-as-new) must neither start a finished or
// running worker again nor lose count of what is left.
import { describe, expect, test } from '@jest/globals';
import type { Outcome, PlanEntry } from '../../../../src/schemas.js';
import { Schedule } from '../../../../src/workflows/batch/schedule.js';

const id = (i: number) => `WORKER_${String(i).padStart(4, '0')}`;

/** A chain-and-fan plan like the scale test's: every 7th worker depends on the one before. */
function plan(n: number): PlanEntry[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    return {
      id: id(i),
      name: `w${i}`,
      dependencies: i > 1 && i % 7 === 0 ? [id(i - 1)] : [],
      deliverables: [`wingman/m${i % 30 === 0 ? 'shared' : i}.py`],
      provider: 'openai',
    };
  });
}

/** Runs the schedule to the end, finishing workers in start order with `outcomeOf`. */
function drain(s: Schedule, running: string[], outcomeOf: (id: string) => Outcome, seen: Set<string>) {
  const queue = [...running];
  for (let guard = 0; guard < 100_000; guard++) {
    const { start, skipped } = s.take(50);
    for (const x of [...start, ...skipped.map((k) => k.id)]) {
      expect(seen.has(x)).toBe(false);
      seen.add(x);
    }
    queue.push(...start);
    const next = queue.shift();
    if (next === undefined) break;
    s.finish(next, outcomeOf(next));
    expect(s.pendingCount).toBeGreaterThanOrEqual(0);
  }
}

describe('Schedule restored after continue-as-new', () => {
  test.each([
    ['all pass', () => 'passed' as Outcome],
    ['some fail (their dependents are skipped)', (x: string) => (Number(x.slice(7)) % 13 === 0 ? 'failed' : 'passed') as Outcome],
  ])('every worker starts or is skipped exactly once, %s', (_, outcomeOf) => {
    const entries = plan(2000);
    // First run: start and finish up to 700, with 200 left running.
    const first = new Schedule(entries);
    const seen = new Set<string>();
    const done: Record<string, Outcome> = {};
    const running: string[] = [];
    while (Object.keys(done).length + running.length < 900) {
      const { start, skipped } = first.take(50);
      for (const k of skipped) {
        seen.add(k.id);
        done[k.id] = 'skipped';
      }
      for (const x of start) seen.add(x);
      running.push(...start);
      while (running.length > 200) {
        const x = running.shift()!;
        done[x] = outcomeOf(x);
        first.finish(x, done[x]!);
      }
    }
    // Second run: restored from what the first one carried.
    const restored = new Schedule(entries, done, running);
    drain(restored, running, outcomeOf, seen);
    expect(seen.size).toBe(2000);
    expect(restored.pendingCount).toBe(0);
  });
});

// The scheduler restored mid-batch (after continue-as-new) must neither start a finished or
// running worker again nor lose count of what is left.
import { describe, expect, test } from '@jest/globals';
import type { Outcome } from '../../../../src/schemas.js';
import { Schedule, type Graph, type Standing } from '../../../../src/workflows/batch/schedule.js';

/**
 * A chain-and-fan plan like the scale test's: every 7th worker depends on the one before, every 30th writes a shared
 * file.
 */
function graph(n: number): Graph {
  const deps: number[][] = [];
  const after: number[][] = [];
  let lastShared = -1;
  for (let i = 0; i < n; i++) {
    deps.push(i > 0 && (i + 1) % 7 === 0 ? [i - 1] : []);
    const shared = (i + 1) % 30 === 0;
    after.push(shared && lastShared >= 0 ? [lastShared] : []);
    if (shared) lastShared = i;
  }
  return { deps, after };
}

describe('Schedule', () => {
  test('a failure skips its dependents transitively, once each; a same-file writer waits only for the end', () => {
    // 0 ← 1 ← 2 (dependencies); 3 writes after 0 (same file)
    const s = new Schedule({ deps: [[], [0], [1], []], after: [[], [], [], [0]] });
    expect(s.take()).toBe(0);
    expect(s.peek()).toBeUndefined();
    expect(s.finish(0, 'failed')).toEqual([
      { index: 1, because: 0 },
      { index: 2, because: 1 },
    ]);
    expect(s.take()).toBe(3);
    expect(s.finish(3, 'passed')).toEqual([]);
    expect(s.waitingCount).toBe(0);
  });

  test.each([
    ['all pass', () => 'passed' as Outcome],
    ['some fail (their dependents are skipped)', (i: number) => ((i + 1) % 13 === 0 ? 'failed' : 'passed') as Outcome],
  ])('restored after continue-as-new, every worker starts or is skipped exactly once, %s', (_, outcomeOf) => {
    const g = graph(2000);
    const standing: Standing[] = Array.from({ length: 2000 }, () => 'waiting');
    const seen = new Set<number>();
    const note = (i: number) => {
      expect(seen.has(i)).toBe(false);
      seen.add(i);
    };
    // First run: start and finish up to 700, with 200 left running.
    const first = new Schedule(g);
    const running: number[] = [];
    while (standing.filter((x) => x !== 'waiting').length < 900) {
      for (let k = 0; k < 50; k++) {
        const i = first.take();
        if (i === undefined) break;
        note(i);
        standing[i] = 'running';
        running.push(i);
      }
      while (running.length > 200) {
        const i = running.shift()!;
        standing[i] = 'ended';
        for (const skip of first.finish(i, outcomeOf(i))) {
          note(skip.index);
          standing[skip.index] = 'ended';
        }
      }
    }
    // Second run: restored from what the first one carried.
    const restored = new Schedule(g, (i) => standing[i]!);
    const queue = [...running];
    for (let guard = 0; guard < 100_000; guard++) {
      for (let i = restored.take(); i !== undefined; i = restored.take()) {
        note(i);
        queue.push(i);
      }
      const next = queue.shift();
      if (next === undefined) break;
      for (const skip of restored.finish(next, outcomeOf(next))) note(skip.index);
    }
    expect(seen.size).toBe(2000);
    expect(restored.waitingCount).toBe(0);
  });
});

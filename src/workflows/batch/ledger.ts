// The batch's books: one small class owns the counts, every worker's outcome, the running ones,
// their budget reservations, the schedule and the abort reason, and the rules that change them.
// The workflow function only moves messages in and children out (the shape of ClusterManager in
// Temporal's safe-message-handlers sample). Pure and deterministic: no I/O, no clock.
//
// Every worker is accounted for exactly once, on every path: it ends (signal, child result or a
// look at a child that went quiet), or it is skipped, and both go through `ended`/`skip`, so
// counts are always the outcome letters counted.
import type {
  BatchOptions,
  BatchState,
  Counts,
  InstructionDone,
  NotRun,
  Outcome,
  PlanPage,
  Progress,
  Thresholds,
  Tokens,
} from '../../schemas.js';
import { OUTCOMES } from '../../schemas.js';
import { Schedule, type Graph } from './schedule.js';

/** Generations one instruction may pay for: the first try and two regenerations. */
export const MAX_GENERATIONS = 3;

/** One letter per outcome in the carried state and the report request. */
const LETTER: Record<Outcome, string> = {
  passed: 'p',
  failed: 'f',
  guide: 'g',
  llm_timeout: 't',
  error: 'e',
  skipped: 's',
};
const OUTCOME_OF: Record<string, Outcome> = Object.fromEntries(OUTCOMES.map((o) => [LETTER[o], o]));
const RUNNING = 'r';
const WAITING = '.';

/** The plan as the ledger needs it: ids and edges by plan index, and each one's generation estimate. */
export interface Plan extends Graph {
  ids: string[];
  estimateUsd: number[];
}

/** Joins the pages `loadPlanPage` returns into one plan. */
export function planFromPages(pages: PlanPage[]): Plan {
  const plan: Plan = { ids: [], deps: [], after: [], estimateUsd: [] };
  for (const p of [...pages].sort((a, b) => a.start - b.start)) {
    if (p.ids.length > 0) plan.ids.push(...p.ids.split(' '));
    plan.deps.push(...p.deps);
    plan.after.push(...p.after);
    plan.estimateUsd.push(...p.estimateMicroUsd.map((m) => m / 1_000_000));
  }
  return plan;
}

export const outcomeOfLetter = (letter: string): Outcome | undefined => OUTCOME_OF[letter];

export class Ledger {
  readonly startedAt: string;
  costUsd: number;
  readonly tokens: Tokens;
  concurrency: number;
  paused: boolean;
  abortReason: string | null;
  /** Runs before this one (continue-as-new). */
  readonly runs: number;
  /** Bumped on every change: the workflow waits for it to move. */
  version = 0;

  private readonly letters: string[];
  private readonly counts: Counts;
  private readonly running = new Set<number>();
  private reservedUsd = 0;
  private readonly notRun = new Map<string, number[]>();
  private readonly indexOf = new Map<string, number>();
  private readonly schedule: Schedule;

  constructor(
    private readonly plan: Plan,
    private readonly options: Pick<BatchOptions, 'concurrency' | 'budgetUsd' | 'thresholds'>,
    startedAt: string,
    carried?: BatchState,
  ) {
    plan.ids.forEach((id, i) => this.indexOf.set(id, i));
    this.startedAt = carried?.startedAt ?? startedAt;
    this.costUsd = carried?.costUsd ?? 0;
    this.tokens = { ...(carried?.tokens ?? { prompt: 0, completion: 0 }) };
    this.concurrency = carried?.concurrency ?? options.concurrency;
    this.paused = carried?.paused ?? false;
    this.abortReason = carried?.abortReason ?? null;
    this.runs = carried?.runs ?? 0;
    this.letters = carried ? [...carried.outcomes] : plan.ids.map(() => WAITING);
    if (this.letters.length !== plan.ids.length)
      throw new Error(`carried state has ${this.letters.length} workers, the plan ${plan.ids.length}`);
    this.counts = { passed: 0, failed: 0, guide: 0, llm_timeout: 0, error: 0, skipped: 0 };
    this.letters.forEach((l, i) => {
      const o = OUTCOME_OF[l];
      if (o) this.counts[o] += 1;
      else if (l === RUNNING) this.running.add(i);
    });
    for (const i of this.running) this.reservedUsd += this.allowance(i);
    for (const { reason, indices } of carried?.notRun ?? []) this.notRun.set(reason, expandRanges(indices));
    this.schedule = new Schedule(plan, (i) =>
      this.letters[i] === WAITING ? 'waiting' : this.letters[i] === RUNNING ? 'running' : 'ended',
    );
  }

  get total(): number {
    return this.plan.ids.length;
  }

  idOf(index: number): string {
    return this.plan.ids[index]!;
  }

  /** Running workers, by plan index. */
  runningIndices(): number[] {
    return [...this.running];
  }

  /** Nothing runs and nothing more will start: the batch can write its report. */
  get finished(): boolean {
    return this.running.size === 0 && (this.schedule.waitingCount === 0 || this.abortReason !== null);
  }

  /** What starting this worker reserves: the generations it may pay for, at its estimate. */
  allowance(index: number): number {
    return MAX_GENERATIONS * this.plan.estimateUsd[index]!;
  }

  budgetFor(index: number): { allowanceUsd: number; generationEstimateUsd: number } {
    return { allowanceUsd: this.allowance(index), generationEstimateUsd: this.plan.estimateUsd[index]! };
  }

  /** The workers `next()` would start now, without starting them. */
  upcoming(): number[] {
    if (this.paused || this.abortReason) return [];
    const out: number[] = [];
    let reserved = this.reservedUsd;
    const ready = this.schedule.peekMany(Math.max(0, this.concurrency - this.running.size));
    for (const i of ready) {
      if (this.costUsd + reserved + this.allowance(i) > this.options.budgetUsd) break;
      reserved += this.allowance(i);
      out.push(i);
    }
    return out;
  }

  /** Starts what the window, the schedule and the budget allow: marks them running and reserves their allowance. */
  next(): number[] {
    const start = this.upcoming();
    for (const expected of start) {
      const i = this.schedule.take();
      if (i !== expected) throw new Error(`schedule gave ${i}, expected ${expected}`);
      this.running.add(i);
      this.letters[i] = RUNNING;
      this.reservedUsd += this.allowance(i);
    }
    if (start.length > 0) this.version += 1;
    const blocked = this.schedule.peek();
    if (start.length === 0 && this.running.size === 0 && blocked !== undefined && !this.paused && !this.abortReason) {
      this.abort(
        `budget: ${this.idOf(blocked)} needs a reservation of $${this.allowance(blocked).toFixed(4)} ` +
          `(${MAX_GENERATIONS} generations); ` +
          `spent $${this.costUsd.toFixed(4)} of $${this.options.budgetUsd.toFixed(2)}`,
      );
    }
    return start;
  }

  /**
   * An instruction ended: by its signal, its child result, or a look at a child that went quiet.
   * Duplicates are ignored.
   */
  ended(done: InstructionDone, reason: string | null = null): void {
    const i = this.indexOf.get(done.id);
    if (i === undefined || !this.running.has(i)) return;
    this.running.delete(i);
    this.reservedUsd = Math.max(0, this.reservedUsd - this.allowance(i));
    this.costUsd += done.costUsd;
    this.tokens.prompt += done.tokens.prompt;
    this.tokens.completion += done.tokens.completion;
    const why = reason ?? (done.outcome === 'skipped' && this.abortReason ? `cancelled: ${this.abortReason}` : null);
    this.record(i, done.outcome, why);
    for (const s of this.schedule.finish(i, done.outcome)) {
      // Skips come in cascade order: the dependency named (failed, or skipped itself) is already recorded.
      this.skip([s.index], `dependency ${this.idOf(s.because)} ended ${OUTCOME_OF[this.letters[s.because]!]}`);
    }
    const breach =
      thresholdBreached(this.counts, this.options.thresholds) ?? budgetBreached(this.costUsd, this.options.budgetUsd);
    if (breach) this.abort(breach);
  }

  /** The one skip path: workers that will never run (a dependency did not pass, or the batch aborted). */
  skip(indices: number[], reason: string): void {
    for (const i of indices) if (this.letters[i] === WAITING) this.record(i, 'skipped', reason);
  }

  /** Stops starting workers and skips the ones not started; the workflow cancels the running ones. */
  abort(reason: string): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.skip(this.schedule.skipWaiting(), `not started: ${reason}`);
    this.version += 1;
  }

  pause(paused: boolean): void {
    this.paused = paused;
    this.version += 1;
  }

  setConcurrency(n: number): void {
    this.concurrency = n;
    this.version += 1;
  }

  countsNow(): Counts {
    return { ...this.counts };
  }

  progress(batchId: string): Progress {
    return {
      batchId,
      state: this.abortReason ? (this.running.size ? 'aborting' : 'aborted') : this.paused ? 'paused' : 'running',
      total: this.total,
      counts: this.countsNow(),
      running: [...this.running].map((i) => this.idOf(i)),
      concurrency: this.concurrency,
      costUsd: this.costUsd,
      tokens: { ...this.tokens },
      startedAt: this.startedAt,
      abortReason: this.abortReason,
    };
  }

  /** State to carry into the next run. */
  carry(): BatchState {
    return {
      startedAt: this.startedAt,
      costUsd: this.costUsd,
      tokens: { ...this.tokens },
      outcomes: this.letters.join(''),
      notRun: this.notRunList(),
      concurrency: this.concurrency,
      paused: this.paused,
      abortReason: this.abortReason,
      runs: this.runs + 1,
    };
  }

  /** What the report needs: every worker's outcome letter, and why the ones that did not run did not. */
  reportState(): { outcomes: string; notRun: NotRun } {
    return { outcomes: this.letters.join(''), notRun: this.notRunList() };
  }

  private record(i: number, outcome: Outcome, reason: string | null): void {
    this.letters[i] = LETTER[outcome];
    this.counts[outcome] += 1;
    if (reason !== null) {
      const list = this.notRun.get(reason);
      if (list) list.push(i);
      else this.notRun.set(reason, [i]);
    }
    this.version += 1;
  }

  private notRunList(): NotRun {
    return [...this.notRun].map(([reason, indices]) => ({ reason, indices: compressRanges(indices) }));
  }
}

/** The reason to abort, once at least `minSample` workers have finished (skipped ones do not count). */
export function thresholdBreached(counts: Counts, t: Thresholds): string | null {
  const finished = counts.passed + counts.failed + counts.guide + counts.llm_timeout + counts.error;
  if (finished < t.minSample || finished === 0) return null;
  const over = (n: number, rate: number, what: string) =>
    n / finished > rate ? `${what}: ${n} of ${finished} finished workers (${pct(n / finished)} > ${pct(rate)})` : null;
  return (
    over(counts.guide, t.guideRate, 'too many guides') ??
    over(counts.failed, t.failedRate, 'too many test failures') ??
    over(counts.llm_timeout, t.llmTimeoutRate, 'too many LLM timeouts') ??
    over(counts.error, t.errorRate, 'too many errors')
  );
}

export function budgetBreached(costUsd: number, budgetUsd: number): string | null {
  return costUsd > budgetUsd ? `budget exceeded: spent $${costUsd.toFixed(4)} of $${budgetUsd.toFixed(2)}` : null;
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

/** Sorted or not, `[3,4,5,7]` → `"3-5,7"`. */
export function compressRanges(indices: number[]): string {
  const sorted = [...indices].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let k = 0; k < sorted.length;) {
    let end = k;
    while (end + 1 < sorted.length && sorted[end + 1] === sorted[end]! + 1) end += 1;
    parts.push(end === k ? `${sorted[k]}` : `${sorted[k]}-${sorted[end]}`);
    k = end + 1;
  }
  return parts.join(',');
}

export function expandRanges(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    if (part === '') continue;
    const dash = part.indexOf('-');
    const first = Number(dash < 0 ? part : part.slice(0, dash));
    const last = dash < 0 ? first : Number(part.slice(dash + 1));
    for (let i = first; i <= last; i++) out.push(i);
  }
  return out;
}

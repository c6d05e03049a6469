// Shared helpers of the human-readable reports (Markdown and HTML): escaping, number and time
// formatting, and the figures both renderers show (per-provider totals, slowest workers, the
// workers that did not pass). Everything taken from a report is untrusted text.
import { OUTCOMES, type Outcome, type Report } from '../schemas.js';

export type ReportWorker = Report['workers'][number];

/** What the JSON report does not hold but a person reading it wants to see. */
export interface RenderExtras {
  /** Worker id → the ids of the workers it depends on. */
  dependencies?: Record<string, string[]>;
  /** Worker id → the tail of its last test output. */
  testOutput?: Record<string, string>;
}

/** Outcomes in display order (the schema's order: passed first, skipped last). */
export const OUTCOME_ORDER: readonly Outcome[] = OUTCOMES;
/** The outcomes listed as "did not pass", in the order they are listed. */
export const NOT_PASSED: readonly Outcome[] = OUTCOMES.filter((o) => o !== 'passed');

/** One palette for badges, bars and markers. */
export const OUTCOME_COLORS: Readonly<Record<Outcome, string>> = {
  passed: '#2da44e',
  failed: '#d1242f',
  guide: '#f08c00',
  llm_timeout: '#8250df',
  error: '#82071e',
  skipped: '#8c959f',
};

/** The provider bucket of workers that never produced code. */
export const NO_PROVIDER = 'none';

/** Per worker, at most this much test output is shown (its tail)... */
export const MAX_TEST_OUTPUT_CHARS = 4_000;
/** ...and at most this much over the whole report, so a huge batch stays a readable size. */
export const MAX_TOTAL_TEST_OUTPUT_CHARS = 400_000;

/** `Object.hasOwn` lookup: a worker id such as `constructor` must not read the prototype. */
export function own<T>(rec: Record<string, T> | undefined, key: string): T | undefined {
  return rec !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;
}

// ---- escaping ----

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * Escapes text for inline Markdown: punctuation that could start emphasis, links or HTML is
 * backslash-escaped, line breaks become spaces. Table cells also need `mdCell`.
 */
export function mdText(text: string): string {
  return text.replace(/\r?\n|\r/g, ' ').replace(/[\\`*_{}[\]<>#~!&]/g, (c) => `\\${c}`);
}

/** A GFM table cell: a `|` would end the cell even inside a code span, so every one is escaped. */
export function mdCell(markdown: string): string {
  return markdown.replace(/\|/g, '\\|');
}

/** An inline code span that holds any text, backticks included. */
export function mdCode(text: string): string {
  const flat = text.replace(/\r?\n|\r/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') || longest > 0 ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A fenced code block whose fence no line of the text can close. */
export function mdFence(text: string, info = 'text'): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text.replace(/\s+$/, '')}\n${fence}`;
}

// ---- numbers and times ----

export function formatInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—';
}

/** Dollars: four decimals under a dollar (LLM calls cost fractions of a cent), two above. */
export function formatUsd(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n === 0) return '$0.00';
  const abs = Math.abs(n);
  const text =
    abs < 1 ? abs.toFixed(4) : abs.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${n < 0 ? '-' : ''}$${text}`;
}

export function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return '—';
  return `${((100 * part) / whole).toFixed(1)}%`;
}

/** A human duration: `850 ms`, `12.3 s`, `4m 05s`, `1h 02m`. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 3600) {
    const m = Math.floor(totalSeconds / 60);
    return `${m}m ${String(totalSeconds % 60).padStart(2, '0')}s`;
  }
  const totalMinutes = Math.round(ms / 60_000);
  return `${Math.floor(totalMinutes / 60)}h ${String(totalMinutes % 60).padStart(2, '0')}m`;
}

/** Milliseconds since the epoch, or null for a missing or unparsable timestamp. */
export function parseTime(iso: string | null | undefined): number | null {
  if (iso === null || iso === undefined) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

/** `2025-03-14 09:00:00 UTC`; an unparsable timestamp is shown as given. */
export function formatTime(iso: string | null): string {
  const t = parseTime(iso);
  if (t === null) return iso ?? '—';
  return new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
    .replace(/Z$/, ' UTC');
}

/** Wall-clock duration of the batch, or null when its timestamps do not parse. */
export function batchDurationMs(report: Report): number | null {
  const start = parseTime(report.startedAt);
  const end = parseTime(report.finishedAt);
  return start === null || end === null || end < start ? null : end - start;
}

// ---- figures ----

export interface ProviderTotal {
  /** `openai`, `ollama`, `processor`, or `none` for workers that never produced code. */
  provider: string;
  workers: number;
  /** Of those workers, how many passed. */
  passed: number;
  prompt: number;
  completion: number;
  costUsd: number;
}

/** Sums over the workers, grouped by the provider that produced their code. */
export function providerTotals(report: Report): ProviderTotal[] {
  const byProvider = new Map<string, ProviderTotal>();
  for (const w of report.workers) {
    const key = w.provider ?? NO_PROVIDER;
    let t = byProvider.get(key);
    if (!t) {
      t = { provider: key, workers: 0, passed: 0, prompt: 0, completion: 0, costUsd: 0 };
      byProvider.set(key, t);
    }
    t.workers += 1;
    if (w.outcome === 'passed') t.passed += 1;
    t.prompt += w.tokens.prompt;
    t.completion += w.tokens.completion;
    t.costUsd += w.costUsd;
  }
  // Known providers in schema order (they are declared in fallback order), unknown ones after, `none` last.
  const rank = (p: string) => (p === NO_PROVIDER ? 2 : ['openai', 'ollama', 'processor'].includes(p) ? 0 : 1);
  const order = ['openai', 'ollama', 'processor'];
  return [...byProvider.values()].sort(
    (a, b) =>
      rank(a.provider) - rank(b.provider) ||
      order.indexOf(a.provider) - order.indexOf(b.provider) ||
      a.provider.localeCompare(b.provider),
  );
}

/** The sum of all per-provider rows. */
export function workersTotal(totals: ProviderTotal[]): ProviderTotal {
  return totals.reduce(
    (acc, t) => ({
      provider: 'all',
      workers: acc.workers + t.workers,
      passed: acc.passed + t.passed,
      prompt: acc.prompt + t.prompt,
      completion: acc.completion + t.completion,
      costUsd: acc.costUsd + t.costUsd,
    }),
    { provider: 'all', workers: 0, passed: 0, prompt: 0, completion: 0, costUsd: 0 },
  );
}

/** Local (free) and paid providers' shares of the workers that produced code: the split the original planned. */
export function localPaidSplit(totals: ProviderTotal[]): { local: number; paid: number; withCode: number } {
  const local = totals
    .filter((t) => t.provider === 'ollama' || t.provider === 'processor')
    .reduce((n, t) => n + t.workers, 0);
  const paid = totals.filter((t) => t.provider === 'openai').reduce((n, t) => n + t.workers, 0);
  return { local, paid, withCode: local + paid };
}

/** One sentence: "local 1 of 10 workers (10.0%), paid 9 (90.0%)". */
export function formatLocalPaid(totals: ProviderTotal[]): string {
  const { local, paid, withCode } = localPaidSplit(totals);
  return (
    `local ${local} of ${withCode} workers with code (${formatPercent(local, withCode)}), ` +
    `paid ${paid} (${formatPercent(paid, withCode)})`
  );
}

/** True when the batch's own cost differs from what its workers' results add up to. */
export function costDiffers(report: Report, total: ProviderTotal): boolean {
  return Math.abs(report.costUsd - total.costUsd) > 1e-6;
}

/** The `n` slowest workers that ran (durationMs > 0), slowest first; ties keep report order. */
export function slowestWorkers(report: Report, n = 5): ReportWorker[] {
  return report.workers
    .map((w, i) => ({ w, i }))
    .filter(({ w }) => Number.isFinite(w.durationMs) && w.durationMs > 0)
    .sort((a, b) => b.w.durationMs - a.w.durationMs || a.i - b.i)
    .slice(0, n)
    .map(({ w }) => w);
}

/** The workers that did not pass, grouped by outcome in NOT_PASSED order, report order inside a group. */
export function notPassedWorkers(
  report: Report,
): Array<{ outcome: Outcome; workers: Array<{ worker: ReportWorker; index: number }> }> {
  return NOT_PASSED.map((outcome) => ({
    outcome,
    workers: report.workers.flatMap((worker, index) => (worker.outcome === outcome ? [{ worker, index }] : [])),
  })).filter((g) => g.workers.length > 0);
}

/**
 * Hands out test output under the per-worker and whole-report limits. Returns the text to show
 * (its tail), whether it was cut, or null when the report's budget is spent.
 */
export class OutputBudget {
  private left: number;
  constructor(
    total = MAX_TOTAL_TEST_OUTPUT_CHARS,
    private readonly perWorker = MAX_TEST_OUTPUT_CHARS,
  ) {
    this.left = total;
  }

  take(text: string): { text: string; truncated: boolean } | null {
    if (this.left <= 0) return null;
    const trimmed = text.replace(/\s+$/, '');
    const limit = Math.min(this.perWorker, this.left);
    const truncated = trimmed.length > limit;
    const shown = truncated ? trimmed.slice(trimmed.length - limit) : trimmed;
    this.left -= shown.length;
    return { text: shown, truncated };
  }
}

/** A worker's dependency ids as given (strings only, no repeats, not itself), empty when none. */
export function dependenciesOf(workerId: string, extras: RenderExtras | undefined): string[] {
  const deps = own(extras?.dependencies, workerId);
  if (!Array.isArray(deps)) return [];
  return [...new Set(deps.filter((d): d is string => typeof d === 'string' && d !== workerId))];
}

/** A worker's test output tail, or null when none was given. */
export function testOutputOf(workerId: string, extras: RenderExtras | undefined): string | null {
  const out = own(extras?.testOutput, workerId);
  return typeof out === 'string' && out.trim() !== '' ? out : null;
}

// Fields that newer reports carry: read defensively, so a report without them still renders.

/** Generations reused from the cache and what they would have cost, when the report records it. */
export function cacheSummary(report: Report): { hits: number; savedUsd: number } | null {
  const cache = (report as { cache?: unknown }).cache;
  if (typeof cache !== 'object' || cache === null) return null;
  const { hits, savedUsd } = cache as { hits?: unknown; savedUsd?: unknown };
  return typeof hits === 'number' && typeof savedUsd === 'number' ? { hits, savedUsd } : null;
}

/** The last step a worker reached, when the report records it. */
export function lastStepOf(w: ReportWorker): string | null {
  const step = (w as { lastStep?: unknown }).lastStep;
  return typeof step === 'string' && step !== '' ? step : null;
}

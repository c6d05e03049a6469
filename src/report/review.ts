// The original orchestrator's review questions, answered from a batch's report: which workers
// took longest, which provider and model did best (passed on the first try, cost per passed
// worker), which test failures were most common. `npm run batch -- retro ID` prints it; the
// Markdown and HTML reports carry it as a section.
import { errorClassOf, failingAssertions } from '../activities/lessons.js';
import type { Report } from '../schemas.js';
import {
  escapeHtml as esc,
  formatDuration,
  formatInt,
  formatPercent,
  formatUsd,
  mdCell,
  mdCode,
  mdText,
  slowestWorkers,
  type ReportWorker,
} from './format.js';

export interface ModelScore {
  provider: string;
  model: string;
  workers: number;
  passed: number;
  passedFirstTry: number;
  costUsd: number;
  /** Null when none passed. */
  costPerPassedUsd: number | null;
}

export interface CommonFailure {
  errorClass: string;
  message: string;
  count: number;
  workers: string[];
}

export interface Review {
  longest: Array<{ id: string; name: string; outcome: string; durationMs: number; attempts: number }>;
  models: ModelScore[];
  failures: CommonFailure[];
}

/** Passed with the first generation: nothing failed before it. */
export function passedFirstTry(w: ReportWorker): boolean {
  return w.outcome === 'passed' && w.attempts === 1 && (w.failures ?? []).length === 0;
}

/** Test failures that differ only in numbers or quoted values are one failure. */
function normalize(message: string): string {
  const flat = message.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 159)}…` : flat;
}

/**
 * The test failures of a worker: its attempt log, else (a result recorded without one) the failing
 * assertions of its last test output when we have it, else its final error.
 */
function testFailures(w: ReportWorker, testOutput: Record<string, string>): Array<{ kind: string; message: string }> {
  const logged = (w.failures ?? []).filter((f) => f.kind === 'tests' || f.kind === 'criteria');
  if (logged.length > 0 || (w.failures ?? []).length > 0) return logged;
  if (w.outcome !== 'failed') return [];
  const output = Object.hasOwn(testOutput, w.id) ? testOutput[w.id] : undefined;
  const asserts = output ? failingAssertions(output).map((a) => a.replace(/^[^\s:]+::[^\s:]+: /, '')) : [];
  if (asserts.length > 0) return asserts.map((message) => ({ kind: 'tests', message }));
  return w.error ? [{ kind: 'tests', message: w.error }] : [];
}

/** `testOutput`: worker id → its last test output (the report's extras), for results without an attempt log. */
export function reviewOf(report: Report, n = 5, testOutput: Record<string, string> = {}): Review {
  const longest = slowestWorkers(report, n).map((w) => ({
    id: w.id,
    name: w.name,
    outcome: w.outcome,
    durationMs: w.durationMs,
    attempts: w.attempts,
  }));

  const byModel = new Map<string, ModelScore>();
  for (const w of report.workers) {
    if (w.provider === null) continue;
    const key = `${w.provider}\u0000${w.model ?? ''}`;
    const s = byModel.get(key) ?? {
      provider: w.provider,
      model: w.model ?? '',
      workers: 0,
      passed: 0,
      passedFirstTry: 0,
      costUsd: 0,
      costPerPassedUsd: null,
    };
    s.workers += 1;
    s.passed += w.outcome === 'passed' ? 1 : 0;
    s.passedFirstTry += passedFirstTry(w) ? 1 : 0;
    s.costUsd += w.costUsd;
    byModel.set(key, s);
  }
  const models = [...byModel.values()]
    .map((s) => ({ ...s, costPerPassedUsd: s.passed > 0 ? s.costUsd / s.passed : null }))
    .sort(
      (a, b) =>
        b.passedFirstTry / b.workers - a.passedFirstTry / a.workers ||
        (a.costPerPassedUsd ?? Infinity) - (b.costPerPassedUsd ?? Infinity),
    );

  const common = new Map<string, CommonFailure>();
  const add = (id: string, kind: string, message: string) => {
    const m = normalize(message);
    const errorClass = errorClassOf({ kind: kind as 'tests', message: m });
    const c = common.get(m) ?? { errorClass, message: m, count: 0, workers: [] };
    c.count += 1;
    if (!c.workers.includes(id)) c.workers.push(id);
    common.set(m, c);
  };
  for (const w of report.workers) for (const f of testFailures(w, testOutput)) add(w.id, f.kind, f.message);
  for (const f of report.suite?.failures ?? []) add(`suite: ${f.test}`, 'tests', f.message);
  const failures = [...common.values()]
    .sort((a, b) => b.count - a.count || (a.message < b.message ? -1 : 1))
    .slice(0, n * 2);
  return { longest, models, failures };
}

/** The review as terminal text. */
export function formatReview(report: Report, r: Review = reviewOf(report)): string {
  const out: string[] = [`Batch ${report.batchId} (${report.status}): ${report.workers.length} workers`, ''];
  out.push('Took longest:');
  for (const w of r.longest) {
    const generations = `${w.attempts} generation${w.attempts === 1 ? '' : 's'}`;
    out.push(`  ${w.id}  ${formatDuration(w.durationMs).padStart(8)}  ${w.outcome}, ${generations}  ${w.name}`);
  }
  if (r.longest.length === 0) out.push('  (no worker ran)');
  out.push('', 'Provider and model (best first):');
  for (const m of r.models) {
    const firstTry = `${m.passedFirstTry} (${formatPercent(m.passedFirstTry, m.workers)})`;
    const perPassed = m.costPerPassedUsd === null ? '—' : formatUsd(m.costPerPassedUsd);
    out.push(
      `  ${m.provider} ${m.model || '(no model)'}: ${m.workers} workers, passed first try ${firstTry}, ` +
        `passed ${m.passed}, cost ${formatUsd(m.costUsd)}, per passed worker ${perPassed}`,
    );
  }
  if (r.models.length === 0) out.push('  (no provider produced code)');
  out.push('', 'Most common test failures:');
  for (const f of r.failures) {
    const who = `${f.workers.slice(0, 6).join(', ')}${f.workers.length > 6 ? ', …' : ''}`;
    out.push(`  ${String(f.count).padStart(3)}×  ${f.errorClass}: ${f.message}  (${who})`);
  }
  if (r.failures.length === 0) out.push('  (none)');
  if (report.suite) {
    const s = report.suite;
    out.push(
      '',
      `Whole suite (${s.command}): exit ${s.exitCode}, ${s.passed} passed, ${s.failed} failed, ${s.errors} errors`,
    );
  }
  return out.join('\n');
}

const mdRow = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;

/** The review as a Markdown section (the slowest workers have their own section). */
export function reviewMarkdown(report: Report, testOutput: Record<string, string> = {}): string[] {
  const r = reviewOf(report, 5, testOutput);
  const out = [
    '## Review',
    '',
    '### Provider and model',
    '',
    'Best first: passed on the first try, then cost per passed worker.',
    '',
  ];
  out.push(
    mdRow(['Provider', 'Model', 'Workers', 'Passed first try', 'Passed', 'Cost', 'Cost per passed worker']),
    mdRow(['---', '---', '---:', '---:', '---:', '---:', '---:']),
  );
  for (const m of r.models) {
    out.push(
      mdRow([
        mdText(m.provider),
        mdText(m.model || '—'),
        formatInt(m.workers),
        `${formatInt(m.passedFirstTry)} (${formatPercent(m.passedFirstTry, m.workers)})`,
        formatInt(m.passed),
        formatUsd(m.costUsd),
        m.costPerPassedUsd === null ? '—' : formatUsd(m.costPerPassedUsd),
      ]),
    );
  }
  out.push('', '### Most common test failures', '');
  if (r.failures.length === 0) out.push('None.', '');
  else {
    out.push(mdRow(['Times', 'Error', 'Message', 'Workers']), mdRow(['---:', '---', '---', '---']));
    for (const f of r.failures)
      out.push(mdRow([formatInt(f.count), mdText(f.errorClass), mdCode(f.message), f.workers.map(mdText).join(', ')]));
    out.push('');
  }
  return out;
}

/** The review as an HTML section. */
export function reviewHtml(report: Report, testOutput: Record<string, string> = {}): string {
  const r = reviewOf(report, 5, testOutput);
  const out = [
    '<section id="review"><h2>Review</h2><h3>Provider and model</h3>' +
      '<p class="note">Best first: passed on the first try, then cost per passed worker.</p>',
    '<table><thead><tr><th>Provider</th><th>Model</th><th class="n">Workers</th><th class="n">Passed first try</th>' +
      '<th class="n">Passed</th><th class="n">Cost</th><th class="n">Cost per passed worker</th></tr></thead><tbody>',
  ];
  for (const m of r.models) {
    const firstTry = `${formatInt(m.passedFirstTry)} (${formatPercent(m.passedFirstTry, m.workers)})`;
    const perPassed = m.costPerPassedUsd === null ? '—' : formatUsd(m.costPerPassedUsd);
    out.push(
      `<tr><td>${esc(m.provider)}</td><td>${esc(m.model || '—')}</td><td class="n">${formatInt(m.workers)}</td>` +
        `<td class="n">${firstTry}</td><td class="n">${formatInt(m.passed)}</td>` +
        `<td class="n">${formatUsd(m.costUsd)}</td><td class="n">${perPassed}</td></tr>`,
    );
  }
  out.push('</tbody></table><h3>Most common test failures</h3>');
  if (r.failures.length === 0) out.push('<p>None.</p>');
  else {
    out.push(
      '<table><thead><tr><th class="n">Times</th><th>Error</th><th>Message</th><th>Workers</th></tr></thead><tbody>',
    );
    for (const f of r.failures)
      out.push(
        `<tr><td class="n">${formatInt(f.count)}</td><td>${esc(f.errorClass)}</td>` +
          `<td><code>${esc(f.message)}</code></td><td>${esc(f.workers.join(', '))}</td></tr>`,
      );
    out.push('</tbody></table>');
  }
  out.push('</section>');
  return out.join('');
}

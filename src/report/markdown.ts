// The batch report as Markdown: what a person pastes into a team channel or a pull request.
// Every string from the report is escaped (names, errors and test output are untrusted).
import type { Report } from '../schemas.js';
import {
  batchDurationMs,
  cacheSummary,
  costDiffers,
  dependenciesOf,
  formatDuration,
  formatInt,
  formatPercent,
  formatTime,
  formatUsd,
  lastStepOf,
  mdCell,
  mdCode,
  mdFence,
  mdText,
  notPassedWorkers,
  OUTCOME_ORDER,
  OutputBudget,
  providerTotals,
  slowestWorkers,
  testOutputOf,
  workersTotal,
  formatLocalPaid,
  type RenderExtras,
  type ReportWorker,
} from './format.js';
import { reviewMarkdown } from './review.js';
import { suiteMarkdown } from './suite.js';

const row = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;

function tests(w: ReportWorker): string {
  return `${formatInt(w.tests.passed)} / ${formatInt(w.tests.failed)}`;
}

function provider(w: ReportWorker): string {
  if (w.provider === null) return 'none';
  return w.model ? `${mdText(w.provider)} (${mdText(w.model)})` : mdText(w.provider);
}

export function renderMarkdown(report: Report, extras?: RenderExtras): string {
  const out: string[] = [];
  const total = report.workers.length;
  const aborted = report.status === 'aborted';

  out.push(`# Batch ${mdCode(report.batchId)}: ${aborted ? '**ABORTED**' : mdText(report.status)}`, '');
  if (aborted || report.abortReason) {
    out.push(`> **Abort reason:** ${report.abortReason ? mdText(report.abortReason) : 'not recorded'}`, '');
  }

  const passed = report.counts.passed;
  const duration = batchDurationMs(report);
  out.push(
    `- **Workers:** ${formatInt(total)}, ${formatInt(passed)} passed (${formatPercent(passed, total)})`,
    `- **Cost:** ${formatUsd(report.costUsd)}`,
    `- **Tokens:** ${formatInt(report.tokens.prompt + report.tokens.completion)} ` +
      `(${formatInt(report.tokens.prompt)} prompt, ${formatInt(report.tokens.completion)} completion)`,
    `- **Duration:** ${formatDuration(duration)} ` +
      `(${mdText(formatTime(report.startedAt))} → ${mdText(formatTime(report.finishedAt))})`,
  );
  const cache = cacheSummary(report);
  if (cache && cache.hits > 0) {
    out.push(
      `- **Cache:** ${formatInt(cache.hits)} generation${cache.hits === 1 ? '' : 's'} reused, ` +
        `${formatUsd(cache.savedUsd)} saved`,
    );
  }
  out.push('');

  // The whole suite: a failing suite fails the batch.
  if (report.suite !== undefined) out.push(...suiteMarkdown(report.suite));

  // Outcomes.
  const countsTotal = OUTCOME_ORDER.reduce((n, o) => n + report.counts[o], 0);
  out.push('## Outcomes', '', row(['Outcome', 'Workers', 'Share']), row(['---', '---:', '---:']));
  for (const o of OUTCOME_ORDER)
    out.push(row([o, formatInt(report.counts[o]), formatPercent(report.counts[o], countsTotal)]));
  out.push(row(['**total**', `**${formatInt(countsTotal)}**`, countsTotal > 0 ? '100.0%' : '—']), '');

  // Cost and tokens per provider.
  const totals = providerTotals(report);
  const sum = workersTotal(totals);
  out.push(
    '## Cost and tokens by provider',
    '',
    'Summed over the workers, by the provider that produced their code (`none`: no code was produced).',
    '',
    row(['Provider', 'Workers', 'Share', 'Passed', 'Prompt tokens', 'Completion tokens', 'Total tokens', 'Cost']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:']),
  );
  for (const t of [...totals, sum]) {
    const cells = [
      t === sum ? 'all' : mdText(t.provider),
      formatInt(t.workers),
      formatPercent(t.workers, sum.workers),
      formatInt(t.passed),
      formatInt(t.prompt),
      formatInt(t.completion),
      formatInt(t.prompt + t.completion),
      formatUsd(t.costUsd),
    ];
    out.push(row(t === sum ? cells.map((c) => `**${c}**`) : cells));
  }
  out.push('', `Split: ${formatLocalPaid(totals)}.`, '');
  if (costDiffers(report, sum)) {
    out.push(
      `The batch recorded ${formatUsd(report.costUsd)} in total; ` +
        `its workers' results add up to ${formatUsd(sum.costUsd)}.`,
      '',
    );
  }

  // Review: best provider and model, most common test failures.
  out.push(...reviewMarkdown(report, extras?.testOutput));

  // Slowest.
  const slowest = slowestWorkers(report, 5);
  if (slowest.length > 0) {
    out.push(
      '## Slowest workers',
      '',
      row(['#', 'Worker', 'Name', 'Outcome', 'Duration']),
      row(['---:', '---', '---', '---', '---:']),
    );
    slowest.forEach((w, i) =>
      out.push(row([String(i + 1), mdCode(w.id), mdText(w.name), w.outcome, formatDuration(w.durationMs)])),
    );
    out.push('');
  }

  // Did not pass.
  const groups = notPassedWorkers(report);
  const notPassedCount = groups.reduce((n, g) => n + g.workers.length, 0);
  const budget = new OutputBudget();
  out.push(`## Workers that did not pass (${formatInt(notPassedCount)})`, '');
  if (notPassedCount === 0) out.push('Every worker passed.', '');
  for (const g of groups) {
    out.push(`### ${g.outcome} (${formatInt(g.workers.length)})`, '');
    for (const { worker: w } of g.workers) {
      out.push(`#### ${mdCode(w.id)} ${mdText(w.name)}`, '');
      const facts = [
        `provider ${provider(w)}`,
        `${formatInt(w.attempts)} attempt${w.attempts === 1 ? '' : 's'}`,
        `tests ${formatInt(w.tests.passed)} passed, ${formatInt(w.tests.failed)} failed`,
      ];
      if (w.durationMs > 0) facts.push(formatDuration(w.durationMs));
      const step = lastStepOf(w);
      if (step !== null) facts.push(`last step ${mdCode(step)}`);
      out.push(`- ${facts.join(', ')}`);
      const deps = dependenciesOf(w.id, extras);
      if (deps.length > 0) out.push(`- depends on ${deps.map(mdCode).join(', ')}`);
      out.push('');
      if (w.error === null || w.error.trim() === '') {
        out.push('Last error: none recorded.', '');
      } else if (!/[\r\n]/.test(w.error.trim()) && w.error.length <= 200) {
        out.push(`Last error: ${mdCode(w.error.trim())}`, '');
      } else {
        out.push('Last error:', '', mdFence(w.error), '');
      }
      const output = testOutputOf(w.id, extras);
      if (output !== null) {
        const shown = budget.take(output);
        if (shown === null) {
          out.push('Test output: omitted (the report holds enough output already).', '');
        } else {
          out.push(`Test output${shown.truncated ? ' (last lines)' : ''}:`, '', mdFence(shown.text), '');
        }
      }
    }
  }

  // Every worker.
  out.push(
    '## All workers',
    '',
    row(['Worker', 'Name', 'Outcome', 'Provider', 'Attempts', 'Tests passed / failed', 'Cost', 'Duration']),
    row(['---', '---', '---', '---', '---:', '---:', '---:', '---:']),
  );
  for (const w of report.workers) {
    out.push(
      row([
        mdCode(w.id),
        mdText(w.name),
        w.outcome,
        w.provider === null ? 'none' : mdText(w.provider),
        formatInt(w.attempts),
        tests(w),
        formatUsd(w.costUsd),
        w.durationMs > 0 ? formatDuration(w.durationMs) : '—',
      ]),
    );
  }
  out.push('');
  return out.join('\n');
}

// The batch report as one self-contained HTML page: inline CSS and inline SVG only, no script,
// nothing fetched (it opens offline, and a Content-Security-Policy forbids fetching anyway).
// Every string from the report is escaped (names, errors and test output are untrusted).
import type { Outcome, Report } from '../schemas.js';
import {
  batchDurationMs,
  cacheSummary,
  costDiffers,
  dependenciesOf,
  escapeHtml as esc,
  formatDuration,
  formatInt,
  formatPercent,
  formatTime,
  formatUsd,
  lastStepOf,
  notPassedWorkers,
  OUTCOME_COLORS,
  OUTCOME_ORDER,
  OutputBudget,
  parseTime,
  providerTotals,
  slowestWorkers,
  testOutputOf,
  workersTotal,
  formatLocalPaid,
  type RenderExtras,
  type ReportWorker,
} from './format.js';
import { reviewHtml } from './review.js';
import { suiteHtml } from './suite.js';

// A line ending in \ continues on the next one: only the source is wrapped, not the CSS.
const CSS = `
*{box-sizing:border-box}
body{margin:0;padding:24px 32px 48px;\
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2328;background:#fff}
h1{font-size:22px;margin:0 0 8px}\
h2{font-size:17px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid #d0d7de}\
h3{font-size:15px;margin:18px 0 6px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:8px 10px;overflow:auto;max-height:420px;\
white-space:pre-wrap;word-break:break-word;margin:6px 0}
pre.err{background:#fff5f5;border-color:#f3c4c4}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
table{border-collapse:collapse;margin:6px 0}\
th,td{padding:4px 10px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600;position:sticky;top:0}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600;border-top:2px solid #d0d7de}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;\
white-space:nowrap}
.badge.zero{opacity:.35}.badges .badge{margin:0 6px 6px 0;font-size:13px;padding:3px 10px}
.status{font-size:13px;padding:3px 10px;vertical-align:middle;margin-left:8px}
.s-ok{background:#2da44e}.s-warn{background:#bf8700}.s-bad{background:#cf222e}
.abort{background:#fff5f5;border:1px solid #f3c4c4;border-left:4px solid #cf222e;border-radius:6px;\
padding:8px 12px;margin:10px 0}
.meta{display:flex;flex-wrap:wrap;gap:6px 28px;margin:10px 0;color:#57606a}.meta b{color:#1f2328;font-weight:600}
.stack{display:flex;height:10px;border-radius:5px;overflow:hidden;max-width:720px;background:#eaeef2;margin:4px 0 8px}
.note{color:#57606a;font-size:12.5px}
.tl{overflow:auto;border:1px solid #d0d7de;border-radius:6px;max-height:80vh}
.tl svg{display:block;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.grid{stroke:#eaeef2;stroke-width:1}.axis{fill:#57606a;font-size:10px}.lbl{fill:#1f2328;text-anchor:end}
.bar{stroke:rgba(0,0,0,.25);stroke-width:.5}.bar:hover,.mk:hover{stroke:#000;stroke-width:1.5}
.dep{stroke:#57606a;stroke-width:1;opacity:.6;fill:none;marker-end:url(#arrow)}\
.dense .dep{opacity:.3;stroke-width:.6;marker-end:none}.dense .bar{stroke:none}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:6px 0;font-size:12.5px;color:#57606a}
.legend i{display:inline-block;width:12px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.legend i.depkey{height:0;border-top:1.5px solid #57606a;border-radius:0;width:18px;vertical-align:3px}
article.fail{border:1px solid #d0d7de;border-radius:6px;padding:4px 14px 8px;margin:10px 0}
article.fail h4{font-size:15px;margin:10px 0 4px}article.fail h4 code{font-size:14px}.facts{color:#57606a;margin:4px 0}
summary{cursor:pointer;color:#57606a}
${OUTCOME_ORDER.map((o) => `.b-${o}{background:${OUTCOME_COLORS[o]}}.o-${o}{fill:${OUTCOME_COLORS[o]}}`).join('\n')}
`;

/** Numbers in SVG attributes: one decimal is plenty and keeps large timelines small. */
const r1 = (n: number) => String(Math.round(n * 10) / 10);

const badge = (o: Outcome, text: string = o, extra = '') => `<span class="badge b-${o}${extra}">${esc(text)}</span>`;

function td(text: string, numeric = false): string {
  return numeric ? `<td class="n">${text}</td>` : `<td>${text}</td>`;
}

function th(text: string, numeric = false): string {
  return numeric ? `<th class="n">${text}</th>` : `<th>${text}</th>`;
}

function providerLabel(w: ReportWorker): string {
  if (w.provider === null) return 'none';
  return w.model ? `${w.provider} (${w.model})` : w.provider;
}

// ---- timeline ----

/** Tick steps for the time axis, in milliseconds. */
const STEPS = [
  10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

/** An offset from the start of the axis: `0`, `450ms`, `1.5s`, `40s`, `5m`, `2m05s`, `1h`, `1h30m`. */
export function formatOffset(ms: number): string {
  if (ms <= 0) return '0';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${String(s % 60).padStart(2, '0')}s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`;
}

function tickStep(span: number, maxTicks = 10): number {
  for (const step of STEPS) if (span / step <= maxTicks) return step;
  const day = 86_400_000;
  return Math.ceil(span / maxTicks / day) * day;
}

interface Lane {
  w: ReportWorker;
  index: number;
  start: number | null;
  end: number | null;
}

/** Row height by batch size: readable for a few workers, a few pixels for thousands (the SVG stays linear). */
function rowHeight(n: number): number {
  if (n <= 25) return 22;
  if (n <= 100) return 16;
  if (n <= 300) return 12;
  if (n <= 800) return 6;
  return 3;
}

function renderTimeline(report: Report, extras: RenderExtras | undefined): string {
  const lanes: Lane[] = report.workers.map((w, index) => {
    const start = parseTime(w.startedAt);
    const end = parseTime(w.finishedAt);
    return start !== null && end !== null && end >= start
      ? { w, index, start, end }
      : { w, index, start: null, end: null };
  });
  const timed = lanes.filter((l) => l.start !== null).sort((a, b) => a.start! - b.start! || a.index - b.index);
  const untimed = lanes.filter((l) => l.start === null);
  const rows = [...timed, ...untimed];
  const n = rows.length;
  if (n === 0) return '<p class="note">No workers.</p>';

  // The axis covers the batch and every bar (a loop, not Math.min(...): no argument limit).
  let t0 = parseTime(report.startedAt) ?? Infinity;
  let t1 = parseTime(report.finishedAt) ?? -Infinity;
  for (const l of timed) {
    if (l.start! < t0) t0 = l.start!;
    if (l.end! > t1) t1 = l.end!;
  }
  if (t0 === Infinity && t1 !== -Infinity) t0 = t1;
  if (t1 === -Infinity && t0 !== Infinity) t1 = t0;
  const known = t0 !== Infinity && t1 >= t0;
  if (!known) {
    t0 = 0;
    t1 = 1000;
  }
  const span = Math.max(t1 - t0, 1);

  const rowH = rowHeight(n);
  const showLabels = rowH >= 12;
  const labelW = showLabels ? 132 : 14;
  const width = 1100;
  const plotL = labelW;
  const plotR = width - (untimed.length > 0 ? 56 : 20);
  const markerX = plotR + 28;
  const top = 26;
  const plotH = n * rowH;
  const bottomAxis = n > 25;
  const height = top + plotH + (bottomAxis ? 24 : 8);
  const barH = rowH >= 12 ? rowH - 7 : Math.max(1.5, rowH - 1);
  const x = (t: number) => plotL + ((t - t0) / span) * (plotR - plotL);
  const cy = (row: number) => top + row * rowH + rowH / 2;

  const parts: string[] = [];
  const dense = showLabels ? '' : ' class="dense"';
  parts.push(
    `<svg width="${width}" height="${r1(height)}" viewBox="0 0 ${width} ${r1(height)}"${dense} ` +
      `role="img" aria-label="Timeline of ${n} workers">`,
    '<defs><marker id="arrow" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="5" markerHeight="5" orient="auto">' +
      '<path d="M0 0L6 3L0 6z" fill="#57606a"/></marker></defs>',
  );

  // Axis: grid lines and tick labels (top, and bottom too when the chart is tall).
  const step = tickStep(span);
  parts.push('<g>');
  for (let k = 0; k * step <= span; k++) {
    const tx = x(t0 + k * step);
    const anchor = k === 0 && !showLabels ? ' text-anchor="start"' : ' text-anchor="middle"';
    const label = esc(formatOffset(k * step));
    parts.push(`<line class="grid" x1="${r1(tx)}" y1="${top - 4}" x2="${r1(tx)}" y2="${r1(top + plotH)}"/>`);
    parts.push(`<text class="axis" x="${r1(tx)}" y="${top - 8}"${anchor}>${label}</text>`);
    if (bottomAxis) parts.push(`<text class="axis" x="${r1(tx)}" y="${r1(top + plotH + 16)}"${anchor}>${label}</text>`);
  }
  if (untimed.length > 0)
    parts.push(`<text class="axis" x="${markerX}" y="${top - 8}" text-anchor="middle">not run</text>`);
  parts.push('</g>');

  // Worker ids on the left.
  if (showLabels) {
    parts.push(`<g font-size="${rowH >= 16 ? 11 : 9}">`);
    rows.forEach((l, row) => {
      const id = l.w.id.length > 18 ? `${l.w.id.slice(0, 17)}…` : l.w.id;
      parts.push(`<text class="lbl" x="${labelW - 8}" y="${r1(cy(row) + (rowH >= 16 ? 4 : 3))}">${esc(id)}</text>`);
    });
    parts.push('</g>');
  }

  // One bar per worker with times.
  const rowOf = new Map<string, Lane & { row: number }>();
  rows.forEach((l, row) => {
    if (!rowOf.has(l.w.id)) rowOf.set(l.w.id, { ...l, row });
  });
  parts.push('<g>');
  timed.forEach((l, row) => {
    const start = l.start!;
    const end = l.end!;
    const bx = x(start);
    const bw = Math.max(1.5, x(end) - bx);
    const duration = l.w.durationMs > 0 ? l.w.durationMs : end - start;
    const tip =
      `${l.w.id} — ${l.w.name}\n${l.w.outcome} · ${formatDuration(duration)} · ${providerLabel(l.w)}\n` +
      `${formatOffset(start - t0)} → ${formatOffset(end - t0)}`;
    parts.push(
      `<a href="#w${l.index}"><rect class="bar o-${l.w.outcome}" x="${r1(bx)}" y="${r1(cy(row) - barH / 2)}" ` +
        `width="${r1(bw)}" height="${r1(barH)}" rx="${barH >= 6 ? 2 : 0}"><title>${esc(tip)}</title></rect></a>`,
    );
  });
  parts.push('</g>');

  // Dependencies: from the end of the dependency's bar to the start of the dependent's bar.
  parts.push('<g>');
  for (const l of timed) {
    const to = rowOf.get(l.w.id);
    if (!to || to.index !== l.index) continue; // a repeated id: its first occurrence speaks for it
    for (const depId of dependenciesOf(l.w.id, extras)) {
      const from = rowOf.get(depId);
      if (!from || from.start === null || from.end === null) continue;
      // An S-curve that leaves the dependency's end and enters the dependent's start horizontally.
      const x1 = x(from.end);
      const y1 = cy(from.row);
      const x2 = x(l.start!);
      const y2 = cy(to.row);
      const bend = Math.min(40, Math.max(8, Math.abs(y2 - y1) / 2));
      const curve = `M${r1(x1)} ${r1(y1)}C${r1(x1 + bend)} ${r1(y1)} ${r1(x2 - bend)} ${r1(y2)} ${r1(x2)} ${r1(y2)}`;
      parts.push(`<path class="dep" d="${curve}"/>`);
    }
  }
  parts.push('</g>');

  // Workers without times (skipped ones mostly): a small marker in the "not run" column.
  if (untimed.length > 0) {
    const rr = Math.max(1.5, Math.min(5, rowH / 2 - 1));
    parts.push('<g>');
    untimed.forEach((l, i) => {
      const row = timed.length + i;
      const error = l.w.error ? `\n${l.w.error.slice(0, 300)}` : '';
      const tip = `${l.w.id} — ${l.w.name}\n${l.w.outcome} · no start/finish time${error}`;
      const s = r1(rr);
      const diamond = `M${markerX} ${r1(cy(row) - rr)}l${s} ${s}l-${s} ${s}l-${s}-${s}z`;
      parts.push(
        `<a href="#w${l.index}"><path class="mk o-${l.w.outcome}" d="${diamond}">` +
          `<title>${esc(tip)}</title></path></a>`,
      );
    });
    parts.push('</g>');
  }

  parts.push('</svg>');

  const legend =
    OUTCOME_ORDER.map((o) => `<span><i class="b-${o}"></i>${o}</span>`).join('') +
    '<span><i class="depkey"></i>dependency</span>';
  const origin = known ? `Time 0 is ${esc(formatTime(new Date(t0).toISOString()))}. ` : '';
  const hint = showLabels
    ? 'Hover a bar for details; click it to jump to the worker.'
    : 'Too many workers to label every row: hover a bar for its id and details; click it to jump to the worker.';
  return (
    `<div class="legend">${legend}</div><div class="tl">${parts.join('')}</div>` +
    `<p class="note">${origin}${hint}</p>`
  );
}

// ---- page ----

export function renderHtml(report: Report, extras?: RenderExtras): string {
  const total = report.workers.length;
  const aborted = report.status === 'aborted';
  const notPassedGroups = notPassedWorkers(report);
  const notPassedCount = notPassedGroups.reduce((n, g) => n + g.workers.length, 0);
  const tone = aborted ? 's-bad' : notPassedCount > 0 ? 's-warn' : 's-ok';
  const indexOf = new Map<string, number>();
  report.workers.forEach((w, i) => {
    if (!indexOf.has(w.id)) indexOf.set(w.id, i);
  });
  const depLinks = (id: string) =>
    dependenciesOf(id, extras)
      .map((d) => {
        const i = indexOf.get(d);
        return i === undefined
          ? `<code title="not in this batch">${esc(d)}</code>`
          : `<a href="#w${i}"><code>${esc(d)}</code></a>`;
      })
      .join(', ');
  const showDeps = extras?.dependencies !== undefined;

  const out: string[] = [];
  out.push(
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>Batch ${esc(report.batchId)}: ${esc(report.status)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
  );

  // Header.
  const duration = batchDurationMs(report);
  out.push(
    '<header>',
    `<h1>Batch <code>${esc(report.batchId)}</code><span class="badge status ${tone}">${esc(report.status)}</span></h1>`,
  );
  if (aborted || report.abortReason) {
    out.push(
      `<div class="abort"><b>Abort reason:</b> ${report.abortReason ? esc(report.abortReason) : 'not recorded'}</div>`,
    );
  }
  out.push(
    '<div class="meta">',
    `<span>Workers <b>${formatInt(total)}</b></span>`,
    `<span>Passed <b>${formatInt(report.counts.passed)}</b> (${formatPercent(report.counts.passed, total)})</span>`,
    `<span>Cost <b>${formatUsd(report.costUsd)}</b></span>`,
    `<span>Tokens <b>${formatInt(report.tokens.prompt + report.tokens.completion)}</b> ` +
      `(${formatInt(report.tokens.prompt)} prompt, ${formatInt(report.tokens.completion)} completion)</span>`,
    ...(() => {
      const cache = cacheSummary(report);
      return cache && cache.hits > 0
        ? [`<span>Cache <b>${formatInt(cache.hits)}</b> reused, <b>${formatUsd(cache.savedUsd)}</b> saved</span>`]
        : [];
    })(),
    `<span>Duration <b>${formatDuration(duration)}</b></span>`,
    `<span>Started <b>${esc(formatTime(report.startedAt))}</b></span>`,
    `<span>Finished <b>${esc(formatTime(report.finishedAt))}</b></span>`,
    '</div>',
    '</header>',
  );

  // The whole suite, right after the header: a failing suite fails the batch.
  if (report.suite !== undefined) out.push(suiteHtml(report.suite));

  // Outcomes.
  const countsTotal = OUTCOME_ORDER.reduce((n, o) => n + report.counts[o], 0);
  out.push('<section id="outcomes"><h2>Outcomes</h2><div class="badges">');
  for (const o of OUTCOME_ORDER) {
    out.push(badge(o, `${o} ${formatInt(report.counts[o])}`, report.counts[o] === 0 ? ' zero' : ''));
  }
  out.push('</div><div class="stack">');
  for (const o of OUTCOME_ORDER) {
    if (report.counts[o] > 0) {
      const width = ((100 * report.counts[o]) / countsTotal).toFixed(3);
      out.push(`<span class="b-${o}" style="width:${width}%" title="${o}: ${report.counts[o]}"></span>`);
    }
  }
  out.push('</div></section>');

  // Cost and tokens per provider.
  const totals = providerTotals(report);
  const sum = workersTotal(totals);
  out.push(
    '<section id="providers"><h2>Cost and tokens by provider</h2>',
    '<p class="note">Summed over the workers, by the provider that produced their code ' +
      '(<code>none</code>: no code was produced).</p>',
    `<table><thead><tr>${th('Provider')}${th('Workers', true)}${th('Share', true)}${th('Passed', true)}` +
      `${th('Prompt tokens', true)}${th('Completion tokens', true)}${th('Total tokens', true)}${th('Cost', true)}` +
      '</tr></thead><tbody>',
  );
  for (const t of [...totals, sum]) {
    out.push(
      `<tr${t === sum ? ' class="total"' : ''} data-provider="${esc(t.provider)}">` +
        `${td(t === sum ? 'all' : esc(t.provider))}${td(formatInt(t.workers), true)}` +
        `${td(formatPercent(t.workers, sum.workers), true)}${td(formatInt(t.passed), true)}` +
        `${td(formatInt(t.prompt), true)}${td(formatInt(t.completion), true)}` +
        `${td(formatInt(t.prompt + t.completion), true)}${td(formatUsd(t.costUsd), true)}</tr>`,
    );
  }
  out.push('</tbody></table>', `<p class="note">Split: ${esc(formatLocalPaid(totals))}.</p>`);
  if (costDiffers(report, sum)) {
    out.push(
      `<p class="note">The batch recorded ${formatUsd(report.costUsd)} in total; ` +
        `its workers' results add up to ${formatUsd(sum.costUsd)}.</p>`,
    );
  }
  out.push('</section>');

  // Review: best provider and model, most common test failures.
  out.push(reviewHtml(report, extras?.testOutput));

  // Timeline.
  out.push('<section id="timeline"><h2>Timeline</h2>', renderTimeline(report, extras), '</section>');

  // Slowest.
  const slowest = slowestWorkers(report, 5);
  if (slowest.length > 0) {
    out.push(
      '<section id="slowest"><h2>Slowest workers</h2>',
      `<table><thead><tr>${th('#', true)}${th('Worker')}${th('Name')}${th('Outcome')}${th('Duration', true)}` +
        '</tr></thead><tbody>',
    );
    slowest.forEach((w, i) => {
      const idx = indexOf.get(w.id) ?? -1;
      const link = `<a href="#w${idx}"><code>${esc(w.id)}</code></a>`;
      out.push(
        `<tr>${td(String(i + 1), true)}${td(link)}${td(esc(w.name))}${td(badge(w.outcome))}` +
          `${td(formatDuration(w.durationMs), true)}</tr>`,
      );
    });
    out.push('</tbody></table></section>');
  }

  // Did not pass.
  const budget = new OutputBudget();
  const openDetails = notPassedCount <= 20;
  out.push(`<section id="not-passed"><h2>Workers that did not pass (${formatInt(notPassedCount)})</h2>`);
  if (notPassedCount === 0) out.push('<p>Every worker passed.</p>');
  for (const g of notPassedGroups) {
    out.push(`<h3>${badge(g.outcome)} ${formatInt(g.workers.length)}</h3>`);
    for (const { worker: w, index } of g.workers) {
      const facts = [
        `provider ${esc(providerLabel(w))}`,
        `${formatInt(w.attempts)} attempt${w.attempts === 1 ? '' : 's'}`,
        `tests ${formatInt(w.tests.passed)} passed / ${formatInt(w.tests.failed)} failed`,
      ];
      if (w.durationMs > 0) facts.push(formatDuration(w.durationMs));
      const step = lastStepOf(w);
      if (step !== null) facts.push(`last step <code>${esc(step)}</code>`);
      const deps = depLinks(w.id);
      if (deps) facts.push(`depends on ${deps}`);
      out.push(
        `<article class="fail" id="f${index}">`,
        `<h4>${badge(w.outcome)} <a href="#w${index}"><code>${esc(w.id)}</code></a> ${esc(w.name)}</h4>`,
        `<p class="facts">${facts.join(' · ')}</p>`,
        w.error && w.error.trim() !== ''
          ? `<pre class="err">${esc(w.error.replace(/\s+$/, ''))}</pre>`
          : '<p class="note">No error recorded.</p>',
      );
      const output = testOutputOf(w.id, extras);
      if (output !== null) {
        const shown = budget.take(output);
        if (shown === null) {
          out.push('<p class="note">Test output omitted: the page holds enough output already.</p>');
        } else {
          const summary = `Test output${shown.truncated ? ' (last lines)' : ''}`;
          out.push(
            `<details${openDetails ? ' open' : ''}><summary>${summary}</summary>` +
              `<pre>${esc(shown.text)}</pre></details>`,
          );
        }
      }
      out.push('</article>');
    }
  }
  out.push('</section>');

  // Every worker.
  out.push(
    '<section id="workers"><h2>All workers</h2>',
    `<table><thead><tr>${th('Worker')}${th('Name')}${th('Outcome')}${th('Provider')}${th('Attempts', true)}` +
      `${th('Tests passed / failed', true)}${th('Tokens', true)}${th('Cost', true)}${th('Duration', true)}` +
      `${showDeps ? th('Depends on') : ''}</tr></thead><tbody>`,
  );
  report.workers.forEach((w, i) => {
    const outcome = w.outcome === 'passed' ? badge(w.outcome) : `<a href="#f${i}">${badge(w.outcome)}</a>`;
    out.push(
      `<tr id="w${i}">${td(`<code>${esc(w.id)}</code>`)}${td(esc(w.name))}${td(outcome)}${td(esc(providerLabel(w)))}` +
        `${td(formatInt(w.attempts), true)}${td(`${formatInt(w.tests.passed)} / ${formatInt(w.tests.failed)}`, true)}` +
        `${td(formatInt(w.tokens.prompt + w.tokens.completion), true)}${td(formatUsd(w.costUsd), true)}` +
        `${td(w.durationMs > 0 ? formatDuration(w.durationMs) : '—', true)}` +
        `${showDeps ? td(depLinks(w.id)) : ''}</tr>`,
    );
  });
  out.push('</tbody></table></section>');

  out.push(
    `<footer><p class="note">Report of batch <code>${esc(report.batchId)}</code>, ` +
      `written ${esc(formatTime(report.finishedAt))}.</p></footer>`,
  );
  out.push('</body>', '</html>', '');
  return out.join('\n');
}

import { describe, expect, test } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Report, OUTCOMES, type Outcome } from '../../../src/schemas.js';
import {
  escapeHtml,
  formatDuration,
  formatUsd,
  mdCode,
  mdFence,
  mdText,
  providerTotals,
  slowestWorkers,
  type RenderExtras,
} from '../../../src/report/format.js';
import { formatOffset, renderHtml } from '../../../src/report/html.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { humanReportPaths, writeHumanReports } from '../../../src/report/write.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/reports');
// Not Report.parse: other work adds fields to the schema the renderers do not read; the fixture is
// checked below on the fields they do read.
const sampleJson: unknown = JSON.parse(readFileSync(path.join(fixtures, 'sample.json'), 'utf8'));
const sample = sampleJson as Report;
const sampleExtras: RenderExtras = JSON.parse(readFileSync(path.join(fixtures, 'sample.extras.json'), 'utf8'));
const HOSTILE = '<script>alert(1)</script>';

const clone = (r: Report): Report => structuredClone(r);
const worker = (r: Report, id: string) => {
  const w = r.workers.find((x) => x.id === id);
  if (!w) throw new Error(`no ${id} in the fixture`);
  return w;
};
const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

/** Timed workers, and the dependency edges between two timed workers of the report. */
function expectedTimeline(r: Report, extras: RenderExtras) {
  const timed = new Set(r.workers.filter((w) => w.startedAt !== null && w.finishedAt !== null).map((w) => w.id));
  let edges = 0;
  for (const [id, deps] of Object.entries(extras.dependencies ?? {})) {
    if (!timed.has(id)) continue;
    edges += new Set(deps.filter((d) => d !== id && timed.has(d))).size;
  }
  return { bars: timed.size, edges, untimed: r.workers.length - timed.size };
}

/**
 * "Well-formed enough": every element opened is closed in order (void elements and `/>` aside),
 * one <html>, one <head>, one <body>. Text never holds a raw `<`, since everything is escaped.
 */
function checkTags(html: string): void {
  const body = html.replace(/<style>[\s\S]*?<\/style>/, '<style></style>');
  const voids = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'col', 'wbr', 'source']);
  const stack: string[] = [];
  for (const m of body.matchAll(
    /<(\/?)([a-zA-Z][\w-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>|<!DOCTYPE[^>]*>|<(?![a-zA-Z/!])/g,
  )) {
    if (m[0].startsWith('<!')) continue;
    if (m[2] === undefined)
      throw new Error(`a raw "<" in text at ${m.index}: ${body.slice(m.index ?? 0, (m.index ?? 0) + 60)}`);
    const [, closing, name, , selfClosing] = m;
    const tag = name.toLowerCase();
    if (closing) {
      const open = stack.pop();
      if (open !== tag) throw new Error(`</${tag}> closes <${open}> at ${m.index}`);
    } else if (!selfClosing && !voids.has(tag)) {
      stack.push(tag);
    }
  }
  expect(stack).toEqual([]);
  expect(count(html, /<html[\s>]/g)).toBe(1);
  expect(count(html, /<\/html>/g)).toBe(1);
  expect(count(html, /<head>/g)).toBe(1);
  expect(count(html, /<body>/g)).toBe(1);
}

function expectOffline(html: string): void {
  expect(html).not.toMatch(/\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?\/\//i);
  expect(html).not.toMatch(/url\(\s*["']?\s*(?:https?:)?\/\//i);
  expect(html).not.toMatch(/@import/i);
  expect(html).not.toMatch(/<script\b/i);
  expect(html).not.toMatch(/<(?:link|iframe|object|embed|img)\b/i);
}

/** A large batch: every outcome, a few providers, chains of dependencies, some test output. */
function bigReport(n: number): { report: Report; extras: RenderExtras } {
  const t0 = Date.parse('2025-03-14T09:00:00Z');
  // Built untyped and parsed: the schema's worker fields change as the project grows (unknown ones are stripped).
  const workers: Array<Record<string, unknown> & { costUsd: number; tokens: { prompt: number; completion: number } }> =
    [];
  const dependencies: Record<string, string[]> = {};
  const testOutput: Record<string, string> = {};
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (let i = 0; i < n; i++) {
    const id = `WORKER_${String(i + 1).padStart(4, '0')}`;
    // Half passed, 200 of each other outcome.
    const outcome: Outcome = i % 10 < 5 ? 'passed' : (OUTCOMES[(i % 10) - 4] as Outcome);
    counts[outcome] += 1;
    const start = t0 + (i % 50) * 3_000 + Math.floor(i / 50) * 60_000;
    const duration = 20_000 + ((i * 7919) % 240_000);
    const timed = outcome !== 'skipped';
    const provider = outcome === 'skipped' || outcome === 'llm_timeout' ? null : i % 3 === 0 ? 'ollama' : 'openai';
    workers.push({
      id,
      name: i === 7 ? HOSTILE : `Module ${i} of the compiler`,
      outcome,
      provider,
      model: provider ? `${provider}-model` : null,
      attempts: timed ? 1 + (i % 3) : 0,
      files: [],
      tests: { passed: timed ? i % 9 : 0, failed: outcome === 'failed' ? 1 + (i % 4) : 0 },
      tokens: { prompt: timed ? 1000 + i : 0, completion: timed ? 500 + i : 0 },
      costUsd: provider === 'openai' ? 0.001 * (i % 17) : 0,
      startedAt: timed ? new Date(start).toISOString() : null,
      finishedAt: timed ? new Date(start + duration).toISOString() : null,
      durationMs: timed ? duration : 0,
      error: outcome === 'passed' ? null : `${outcome} in worker ${i}: something went wrong`,
      lastStep: timed ? 'tests' : 'not started',
      cacheHits: 0,
      savedUsd: 0,
      outputRef: null,
    });
    dependencies[id] = i >= 50 ? [`WORKER_${String(i - 49).padStart(4, '0')}`] : [];
    if (outcome === 'failed') testOutput[id] = `${'E   assert False\n'.repeat(400)}FAILED test_${i}.py::test_it`;
  }
  const report = {
    batchId: 'big',
    status: 'aborted',
    abortReason: 'failed rate 0.22 above 0.20',
    counts,
    costUsd: workers.reduce((s, w) => s + w.costUsd, 0),
    tokens: {
      prompt: workers.reduce((s, w) => s + w.tokens.prompt, 0),
      completion: workers.reduce((s, w) => s + w.tokens.completion, 0),
    },
    cache: { hits: 0, savedUsd: 0 },
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date(t0 + 3_600_000).toISOString(),
    workers,
  } as unknown as Report;
  return { report, extras: { dependencies, testOutput } };
}

/** What the renderers read of a report and of each worker. */
const READ = new Set([
  'batchId',
  'status',
  'abortReason',
  'counts',
  'costUsd',
  'tokens',
  'startedAt',
  'finishedAt',
  'workers',
  'id',
  'name',
  'outcome',
  'provider',
  'model',
  'attempts',
  'tests',
  'durationMs',
  'error',
]);

test('the fixture is a report: the schema finds nothing wrong in the fields the renderers read', () => {
  const result = Report.safeParse(sampleJson);
  const issues = result.success
    ? []
    : result.error.issues.filter((i) => i.path.some((p) => typeof p === 'string' && READ.has(p) && p !== 'workers'));
  const misses = result.success
    ? []
    : result.error.issues.filter((i) => !issues.includes(i)).map((i) => i.path.join('.'));
  const newer = [...new Set(misses.map((m) => m.replace(/^workers\.\d+\./, 'workers[].')))];
  // Fields added to the schema since the fixture was written only show up here, as a note.
  if (misses.length > 0) console.warn(`fixture lacks newer report fields: ${newer.join(', ')}`);
  expect(issues).toEqual([]);
  expect(sample.workers).toHaveLength(8);
  expect(new Set(sample.workers.map((w) => w.outcome))).toEqual(new Set(OUTCOMES));
});

describe('format helpers', () => {
  test('escape HTML and Markdown', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(mdText('a *b* _c_ <d> [e](f) | g\nh')).toBe('a \\*b\\* \\_c\\_ \\<d\\> \\[e\\](f) | g h');
    expect(mdCode('a `b` c')).toBe('`` a `b` c ``');
    expect(mdFence('x\n```\ny')).toBe('````text\nx\n```\ny\n````');
  });

  test('money and durations', () => {
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(0.0871)).toBe('$0.0871');
    expect(formatUsd(1234.5)).toBe('$1,234.50');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(34_000)).toBe('34.0 s');
    expect(formatDuration(385_000)).toBe('6m 25s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
  });

  test('per-provider sums over the workers, "none" for workers without a provider', () => {
    const totals = providerTotals(sample);
    expect(totals.map((t) => t.provider)).toEqual(['openai', 'ollama', 'none']);
    const [openai, ollama, none] = totals;
    expect(openai?.workers).toBe(4);
    expect(openai?.costUsd).toBeCloseTo(0.0123 + 0.0871 + 0.05 + 0.0061, 10);
    expect(openai?.prompt).toBe(3200 + 9800 + 6000 + 2500);
    expect(openai?.completion).toBe(1800 + 6100 + 4000 + 1500);
    expect(openai?.passed).toBe(2);
    expect(ollama).toMatchObject({ workers: 2, passed: 1, prompt: 9300, completion: 6500, costUsd: 0 });
    expect(none).toMatchObject({ workers: 2, passed: 0, prompt: 2100, completion: 0 });
    expect(none?.costUsd).toBeCloseTo(0.0021, 10);
    expect(totals.reduce((s, t) => s + t.costUsd, 0)).toBeCloseTo(sample.costUsd, 10);
  });

  test('time-axis offsets', () => {
    expect(['0', '450ms', '1.5s', '40s', '5m', '2m05s', '1h', '1h30m']).toEqual(
      [0, 450, 1500, 40_000, 300_000, 125_000, 3_600_000, 5_400_000].map(formatOffset),
    );
  });

  test('slowest workers by durationMs', () => {
    expect(slowestWorkers(sample, 5).map((w) => w.id)).toEqual([
      'WORKER_003',
      'WORKER_006',
      'WORKER_002',
      'WORKER_005',
      'WORKER_001',
    ]);
  });
});

describe('renderMarkdown', () => {
  const md = renderMarkdown(sample, sampleExtras);

  test('title, counts, totals and duration', () => {
    expect(md).toMatch(/^# Batch `batch-2025-03-14-compiler`: completed\n/);
    for (const [outcome, n] of Object.entries(sample.counts)) expect(md).toContain(`| ${outcome} | ${n} |`);
    expect(md).toContain('| **total** | **8** |');
    expect(md).toContain('$0.1576');
    expect(md).toContain('52,800');
    expect(md).toContain('9m 45s');
  });

  test('cache savings and last steps when the report has them, and renders without them', () => {
    expect(md).toContain('- **Cache:** 2 generations reused, $0.0043 saved');
    expect(md).toContain('last step `tests`');
    const older = JSON.parse(JSON.stringify(sample)) as Record<string, unknown> & {
      workers: Array<Record<string, unknown>>;
    };
    delete older.cache;
    for (const w of older.workers) delete w.lastStep;
    const out = renderMarkdown(older as unknown as Report, sampleExtras);
    expect(out).not.toContain('Cache');
    expect(out).not.toContain('last step');
    expect(renderHtml(older as unknown as Report)).not.toContain('last step');
  });

  test('cost and tokens per provider', () => {
    expect(md).toContain('| openai | 4 | 50.0% | 2 | 21,500 | 13,400 | 34,900 | $0.1555 |');
    expect(md).toContain('Split: local 2 of 6 workers with code (33.3%), paid 4 (66.7%).');
    expect(md).toContain('| ollama | 2 | 25.0% | 1 | 9,300 | 6,500 | 15,800 | $0.00 |');
    expect(md).toContain('| none | 2 | 25.0% | 0 | 2,100 | 0 | 2,100 | $0.0021 |');
  });

  test('the slowest five, in order', () => {
    const section = md.slice(md.indexOf('## Slowest workers'), md.indexOf('## Workers that did not pass'));
    const ids = [...section.matchAll(/`(WORKER_\d+)`/g)].map((m) => m[1]);
    expect(ids).toEqual(['WORKER_003', 'WORKER_006', 'WORKER_002', 'WORKER_005', 'WORKER_001']);
  });

  test('every worker that did not pass, with its last error and test output', () => {
    const section = md.slice(md.indexOf('## Workers that did not pass (5)'), md.indexOf('## All workers'));
    const headed = [...section.matchAll(/^#### `(WORKER_\d+)`/gm)].map((m) => m[1]);
    // Grouped by outcome: failed, guide, llm_timeout, error, skipped.
    expect(headed).toEqual(['WORKER_003', 'WORKER_005', 'WORKER_006', 'WORKER_007', 'WORKER_004']);
    expect(section).toContain(worker(sample, 'WORKER_003').error!);
    expect(section).toContain('```text\nwingman/tests/test_parser.py::test_precedence PASSED');
    expect(section).toContain('========================= 3 failed, 14 passed in 1.84s =========================\n```');
    // The multi-line error goes in a fenced block, whole.
    expect(section).toContain(
      '```text\nPathError: deliverable escapes the workspace: ../../etc/passwd\n    at resolveInside',
    );
    expect(section).toContain('depends on `WORKER_001`, `WORKER_002`');
  });

  test('a full table with one row per worker', () => {
    const rows = md
      .slice(md.indexOf('## All workers'))
      .split('\n')
      .filter((l) => l.startsWith('| `WORKER_'));
    expect(rows).toHaveLength(8);
    expect(rows[2]).toBe('| `WORKER_003` | Parser | failed | openai | 3 | 14 / 3 | $0.0871 | 6m 25s |');
    expect(rows[3]).toBe('| `WORKER_004` | Semantic analyzer | skipped | none | 0 | 0 / 0 | $0.00 | — |');
  });

  test('abort reason, and hostile text cannot inject HTML, links or table cells', () => {
    const r = clone(sample);
    r.status = 'aborted';
    r.abortReason = 'failed rate 0.25 above 0.20';
    worker(r, 'WORKER_003').name = `${HOSTILE} | [x](javascript:alert(1))`;
    const out = renderMarkdown(r, { testOutput: { WORKER_003: 'ok\n```\n<img src=x onerror=alert(1)>' } });
    expect(out).toMatch(
      /^# Batch `batch-2025-03-14-compiler`: \*\*ABORTED\*\*\n\n> \*\*Abort reason:\*\* failed rate 0\.25 above 0\.20/,
    );
    expect(out).not.toContain('<script>');
    expect(out).toContain('\\<script\\>alert(1)\\</script\\> \\| \\[x\\](javascript:alert(1))');
    // The output's own ``` cannot close the block: the fence is longer.
    expect(out).toContain('````text\nok\n```\n<img src=x onerror=alert(1)>\n````');
  });
});

describe('renderHtml', () => {
  const html = renderHtml(sample, sampleExtras);

  test('is one well-formed page that opens offline', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    checkTags(html);
    expectOffline(html);
    expect(html).toContain('<meta charset="utf-8">');
    expect(count(html, /<svg[\s>]/g)).toBe(1);
  });

  test('header, outcome badges and the provider table', () => {
    expect(html).toContain('<code>batch-2025-03-14-compiler</code><span class="badge status s-warn">completed</span>');
    for (const [outcome, n] of Object.entries(sample.counts))
      expect(html).toContain(`<span class="badge b-${outcome}">${outcome} ${n}</span>`);
    const row = (p: string) => html.match(new RegExp(`<tr[^>]*data-provider="${p}">.*?</tr>`))?.[0] ?? '';
    expect(row('openai')).toContain(
      '<td class="n">4</td><td class="n">50.0%</td><td class="n">2</td><td class="n">21,500</td>' +
        '<td class="n">13,400</td><td class="n">34,900</td><td class="n">$0.1555</td>',
    );
    expect(html).toContain('Split: local 2 of 6 workers with code (33.3%), paid 4 (66.7%).');
    expect(row('ollama')).toContain('<td class="n">$0.00</td>');
    expect(row('none')).toContain('<td class="n">2,100</td><td class="n">$0.0021</td>');
    expect(row('all')).toContain('<td class="n">$0.1576</td>');
  });

  test('timeline: a bar per timed worker, a marker per untimed one, a line per dependency between timed ones', () => {
    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>'));
    const want = expectedTimeline(sample, sampleExtras);
    expect(want).toEqual({ bars: 7, edges: 5, untimed: 1 });
    expect(count(svg, /<rect class="bar /g)).toBe(want.bars);
    expect(count(svg, /class="dep"/g)).toBe(want.edges);
    expect(count(svg, /class="mk o-skipped"/g)).toBe(1);
    for (const w of sample.workers) expect(svg).toContain(`>${w.id}</text>`);
    // Coloured by outcome, a tooltip with name, outcome and duration.
    expect(svg).toMatch(/<rect class="bar o-failed"[^>]*><title>WORKER_003 — Parser\nfailed · 6m 25s/);
    expect(svg).toContain('<title>WORKER_006 — Error reporting &amp; &lt;diagnostics&gt;\nllm_timeout · 6m 00s');
    expect(svg).toMatch(/<text class="axis"[^>]*>5m<\/text>/);
    // Bars sit on the shared axis: WORKER_003 starts after WORKER_001 ends, both in the plot.
    const bar = (id: string) => {
      const m = svg.match(new RegExp(`x="([\\d.]+)" y="[\\d.]+" width="([\\d.]+)"[^>]*><title>${id} `));
      return { x: Number(m?.[1]), w: Number(m?.[2]) };
    };
    const w1 = bar('WORKER_001');
    const w3 = bar('WORKER_003');
    expect(w1.x + w1.w).toBeLessThan(w3.x);
    expect(w3.x + w3.w).toBeLessThanOrEqual(1100);
    // The palette is the one asked for.
    expect(html).toMatch(/\.o-passed\{fill:#2da44e\}/);
    expect(html).toMatch(/\.o-llm_timeout\{fill:#8250df\}/);
  });

  test('the slowest workers, the failures with error and test output, the full table', () => {
    const slowest = html.slice(html.indexOf('<section id="slowest">'), html.indexOf('<section id="not-passed">'));
    expect([...slowest.matchAll(/<code>(WORKER_\d+)<\/code>/g)].map((m) => m[1])).toEqual([
      'WORKER_003',
      'WORKER_006',
      'WORKER_002',
      'WORKER_005',
      'WORKER_001',
    ]);
    const failures = html.slice(html.indexOf('<section id="not-passed">'), html.indexOf('<section id="workers">'));
    expect(count(failures, /<article class="fail"/g)).toBe(5);
    expect(failures).toContain(
      '<pre class="err">tests failed: FAILED wingman/tests/test_parser.py::test_nested_expressions - ' +
        'AssertionError: assert 3 == 4</pre>',
    );
    expect(failures).toContain('E        +  where 3 = depth(&lt;BinOp op=&#39;&lt;&#39;&gt;)');
    const table = html.slice(html.indexOf('<section id="workers">'));
    expect(count(table, /<tr id="w\d+">/g)).toBe(8);
  });

  test('escapes every string from the report', () => {
    const r = clone(sample);
    worker(r, 'WORKER_003').name = HOSTILE;
    worker(r, 'WORKER_004').name = `"><svg onload=alert(1)>`;
    worker(r, 'WORKER_007').error = `</pre><script>alert(2)</script>`;
    r.batchId = `</title>${HOSTILE}`;
    r.abortReason = '<b>bold</b>';
    const page = renderHtml(r, {
      dependencies: { WORKER_003: ['<i>x</i>', 'WORKER_001'], constructor: ['WORKER_001'] },
      testOutput: { WORKER_003: `</pre>${HOSTILE}` },
    });
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;');
    expect(page).not.toContain(HOSTILE);
    expect(page).not.toContain('<svg onload');
    expect(page).not.toContain('<b>bold</b>');
    expect(page).not.toContain('<i>x</i>');
    checkTags(page);
    expectOffline(page);
  });

  test('one worker; no timed workers; odd dependencies', () => {
    const one = clone(sample);
    one.workers = [worker(sample, 'WORKER_001')];
    const page = renderHtml(one);
    checkTags(page);
    expect(count(page, /<rect class="bar /g)).toBe(1);
    expect(renderMarkdown(one)).toContain('Every worker passed.');

    const none = clone(sample);
    none.workers = none.workers.map((w) => ({
      ...w,
      outcome: 'skipped' as const,
      startedAt: null,
      finishedAt: null,
      durationMs: 0,
    }));
    const skippedPage = renderHtml(none, sampleExtras);
    checkTags(skippedPage);
    expect(count(skippedPage, /<rect class="bar /g)).toBe(0);
    expect(count(skippedPage, /class="mk o-skipped"/g)).toBe(8);
    expect(count(skippedPage, /class="dep"/g)).toBe(0);

    const empty = clone(sample);
    empty.workers = [];
    checkTags(renderHtml(empty));

    // Unknown, self and repeated dependencies draw nothing extra.
    const odd = renderHtml(sample, {
      dependencies: { WORKER_003: ['WORKER_001', 'WORKER_001', 'WORKER_003', 'WORKER_999'] },
    });
    expect(count(odd, /class="dep"/g)).toBe(1);
  });
});

describe('a 2,000-worker batch', () => {
  test('renders in reasonable size and time', () => {
    const { report, extras } = bigReport(2000);
    const started = performance.now();
    const html = renderHtml(report, extras);
    const md = renderMarkdown(report, extras);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(3000);
    expect(html.length).toBeLessThan(4_000_000);
    expect(md.length).toBeLessThan(3_000_000);

    const want = expectedTimeline(report, extras);
    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>'));
    expect(count(svg, /<rect class="bar /g)).toBe(want.bars);
    expect(count(svg, /class="dep"/g)).toBe(want.edges);
    expect(count(svg, /class="mk /g)).toBe(want.untimed);
    // Small bars: the SVG grows by a few pixels per worker, not by a readable row each.
    const height = Number(svg.match(/^<svg width="\d+" height="([\d.]+)"/)?.[1]);
    expect(height).toBeLessThan(2000 * 4 + 100);
    expect(svg.length).toBeLessThan(2000 * 600);
    expect(html).not.toContain(HOSTILE);
    checkTags(html);
    expectOffline(html);
    expect(md).toContain('| failed | 200 |');
  });
});

describe('writeHumanReports', () => {
  test('writes report.md and report.html next to the JSON, leaving no temp files', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wingman-report-'));
    try {
      const reportPath = path.join(dir, 'results', 'b1', 'report.json');
      const written = await writeHumanReports(reportPath, sample, sampleExtras);
      expect(written).toEqual({
        markdown: path.join(dir, 'results/b1/report.md'),
        html: path.join(dir, 'results/b1/report.html'),
      });
      expect(await readFile(written.markdown, 'utf8')).toBe(renderMarkdown(sample, sampleExtras));
      expect(await readFile(written.html, 'utf8')).toBe(renderHtml(sample, sampleExtras));
      expect((await readdir(path.dirname(reportPath))).sort()).toEqual(['report.html', 'report.md']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('never names a human report like the JSON itself', () => {
    expect(humanReportPaths('/r/batch.json')).toEqual({ markdown: '/r/batch.md', html: '/r/batch.html' });
    expect(humanReportPaths('/r/out.html')).toEqual({ markdown: '/r/out.html.md', html: '/r/out.html.html' });
  });
});

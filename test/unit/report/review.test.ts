// The review questions answered from a report, and the suite and review sections of the
// Markdown and HTML reports, on the sample report with a suite and attempt logs added.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report, SuiteResult } from '../../../src/schemas.js';
import { formatReview, passedFirstTry, reviewOf } from '../../../src/report/review.js';
import { suiteFailed, suiteHtml, suiteLine, suiteMarkdown } from '../../../src/report/suite.js';
import { renderMarkdown } from '../../../src/report/markdown.js';
import { renderHtml } from '../../../src/report/html.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/reports');
const sample = JSON.parse(readFileSync(path.join(fixtures, 'sample.json'), 'utf8')) as Report;

const SUITE: SuiteResult = {
  command: 'pytest',
  exitCode: 1,
  passed: 321,
  failed: 2,
  errors: 0,
  failures: [
    {
      test: 'tests/test_prices.py::test_total_adds_tax',
      message: 'AssertionError: total(100) must be 120',
      workers: ['WORKER_001', 'WORKER_003'],
    },
    { test: 'tests/test_x.py::test_<script>', message: '<script>alert(1)</script>', workers: [] },
  ],
};

function withLogs(): Report {
  const r = structuredClone(sample);
  const w = (id: string) => r.workers.find((x) => x.id === id)!;
  // Passed on the second try after a test failure: not a first-try pass.
  const second = r.workers.find((x) => x.outcome === 'passed' && x.attempts === 2)!;
  second.failures = [{ attempt: 1, kind: 'tests', message: 'AssertionError: assert 0.5 == 0.7' }];
  const failed = r.workers.find((x) => x.outcome === 'failed')!;
  failed.failures = [
    { attempt: 1, kind: 'tests', message: 'AssertionError: assert 0.5 == 0.7' },
    { attempt: 2, kind: 'tests', message: "ModuleNotFoundError: No module named 'lexer'" },
  ];
  w('WORKER_001').failures = [];
  r.suite = SUITE;
  return r;
}

test('which workers took longest, which model did best, which failures were most common', () => {
  const report = withLogs();
  const review = reviewOf(report);
  const durations = review.longest.map((l) => l.durationMs);
  expect(durations).toEqual([...durations].sort((a, b) => b - a));
  expect(review.longest[0]!.durationMs).toBe(Math.max(...report.workers.map((w) => w.durationMs)));

  // gpt-4o-mini passed everything on the first try: best, with its cost per passed worker.
  const mini = report.workers.filter((w) => w.model === 'gpt-4o-mini');
  expect(review.models[0]).toMatchObject({
    provider: 'openai',
    model: 'gpt-4o-mini',
    workers: mini.length,
    passedFirstTry: mini.filter(passedFirstTry).length,
  });
  expect(review.models[0]!.costPerPassedUsd).toBeCloseTo(
    mini.reduce((n, w) => n + w.costUsd, 0) / mini.filter((w) => w.outcome === 'passed').length,
  );
  const gpt4o = review.models.find((m) => m.model === 'gpt-4o')!;
  expect(gpt4o.passed).toBe(0);
  expect(gpt4o.costPerPassedUsd).toBeNull();

  // The assertion two workers hit comes first; the suite's failures count too.
  expect(review.failures[0]).toMatchObject({
    errorClass: 'AssertionError',
    message: 'AssertionError: assert 0.5 == 0.7',
    count: 2,
  });
  expect(review.failures.map((f) => f.message)).toContain('AssertionError: total(100) must be 120');
  expect(review.failures.find((f) => f.errorClass === 'ModuleNotFoundError')).toBeDefined();

  const text = formatReview(report);
  expect(text).toContain('Took longest:');
  expect(text).toContain('openai gpt-4o-mini:');
  expect(text).toContain('2×  AssertionError: AssertionError: assert 0.5 == 0.7');
  expect(text).toContain('Whole suite (pytest): exit 1, 321 passed, 2 failed, 0 errors');
});

test('a failing suite fails the batch; "no tests collected" and a pass do not', () => {
  expect(suiteFailed(SUITE)).toBe(true);
  expect(suiteFailed({ ...SUITE, exitCode: 0, failed: 0, failures: [] })).toBe(false);
  expect(suiteFailed({ ...SUITE, exitCode: 5, passed: 0, failed: 0, failures: [] })).toBe(false);
  expect(suiteFailed({ ...SUITE, exitCode: 2, failed: 0, errors: 1 })).toBe(true);
  expect(suiteFailed(null)).toBe(false);
  expect(suiteLine(SUITE)).toBe(
    'Suite (pytest) FAILED: 321 passed, 2 failed, 0 errors, exit 1; ' +
      'first: tests/test_prices.py::test_total_adds_tax (written by WORKER_001, WORKER_003)',
  );
});

test('the Markdown and HTML reports show the suite (escaped) and the review', () => {
  const report = withLogs();
  const md = renderMarkdown(report);
  expect(md).toContain('## Whole suite');
  expect(md).toContain('**FAILED** (exit 1): 321 passed, 2 failed, 0 errors');
  expect(md).toContain(
    '| `tests/test_prices.py::test_total_adds_tax` | AssertionError: total(100) must be 120 | ' +
      '`WORKER_001`, `WORKER_003` |',
  );
  expect(md).toContain('## Review');
  expect(md).toContain('### Most common test failures');
  // Untrusted text: escaped in prose, inert inside a code span.
  expect(md).toContain('\\<script\\>alert(1)\\</script\\>');
  expect(md).toContain('`tests/test_x.py::test_<script>`');
  expect(md.indexOf('## Whole suite')).toBeLessThan(md.indexOf('## Outcomes'));

  const html = renderHtml(report);
  expect(html).toContain('<section id="suite"><h2>Whole suite</h2>');
  expect(html).toContain('<td>WORKER_001, WORKER_003</td>');
  expect(html).toContain('<section id="review"><h2>Review</h2>');
  expect(html).not.toContain('<script>alert(1)</script>');
  expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');

  // Not run: said so; a report from before the suite existed: no section.
  expect(suiteMarkdown(null).join('\n')).toContain('Not run');
  expect(suiteHtml(null)).toContain('Not run');
  expect(renderMarkdown(sample)).not.toContain('## Whole suite');
});

test('a result recorded without an attempt log: the failing assertion of its last test output, else its error', () => {
  const report = structuredClone(sample);
  const failed = report.workers.find((x) => x.outcome === 'failed')!;
  failed.failures = []; // recorded without an attempt log
  const log =
    '____ test_high ____\nE       AssertionError: BANDS: 0.9 is High\n' +
    '=== short test summary info ===\nFAILED tests/test_b.py::test_high - AssertionError: BANDS: 0.9...\n';
  expect(reviewOf(report, 5, { [failed.id]: log }).failures[0]).toMatchObject({
    errorClass: 'AssertionError',
    message: 'AssertionError: BANDS: 0.9 is High',
    workers: [failed.id],
  });
  expect(reviewOf(report).failures[0]).toMatchObject({
    message: failed.error!.replace(/\s+/g, ' ').trim().slice(0, 159),
    workers: [failed.id],
  });
});

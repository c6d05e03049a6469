// The terminal summary's split by provider, from a report.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatProviderSplit } from '../../../src/cli/provider-split.js';
import type { Report } from '../../../src/schemas.js';
import { repoRoot } from '../../support/cli.js';

const sample = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/reports/sample.json'), 'utf8')) as Report;

test('workers, share, passed and cost per provider, then the local/paid split', () => {
  expect(formatProviderSplit(sample)).toEqual([
    'By provider:',
    '  openai        4 workers (50.0%), 2 passed, $0.1555',
    '  ollama        2 workers (25.0%), 1 passed, $0.0000',
    '  none          2 workers (25.0%), 0 passed, $0.0021',
    '  local 2 of 6 workers with code (33.3%), paid 4 (66.7%)',
  ]);
});

test('the processor counts as local', () => {
  const report: Report = {
    ...sample,
    workers: sample.workers.map((w) => (w.provider === 'ollama' ? { ...w, provider: 'processor' as const } : w)),
  };
  const lines = formatProviderSplit(report);
  expect(lines).toContain('  processor     2 workers (25.0%), 1 passed, $0.0000');
  expect(lines.at(-1)).toBe('  local 2 of 6 workers with code (33.3%), paid 4 (66.7%)');
});

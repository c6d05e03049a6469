// The guide detector on realistic LLM answers (test/fixtures/llm-output/): guides must be caught,
// real code (including code whose docstrings talk like a guide) must not.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactStore, sha256 } from '../../../src/activities/artifacts.js';
import { readConfig } from '../../../src/config.js';
import { inspectOutput, inspectText } from '../../../src/activities/guide.js';

const fixtures = fileURLToPath(new URL('../../fixtures/llm-output/', import.meta.url));
const fixture = (name: string) => readFile(path.join(fixtures, name), 'utf8');

const ANALYZER = 'wingman/validation/semantic_analyzer.py';
const SCANNER = 'wingman/validation/code_scanner.py';
const SCANNER_TESTS = 'wingman/tests/test_code_scanner.py';
const ANALYZER_TESTS = 'wingman/tests/test_semantic_analyzer.py';
const ROLLOUT = 'deploy/rollout_test.sh';

describe('real code is not a guide', () => {
  test.each([
    ['code-single-file.md', [ANALYZER]],
    ['code-two-files.md', [SCANNER, SCANNER_TESTS]],
    ['code-docstring-you-should.md', [ANALYZER]],
    ['code-file-comments.md', [SCANNER, ROLLOUT]],
    ['code-heading-per-file.md', [ANALYZER_TESTS]],
    ['code-with-run-note.md', [ANALYZER_TESTS]],
    ['code-rollout-script.md', [ROLLOUT]],
    ['code-reasoning-model.md', [SCANNER]],
    ['code-bare-answer.md', [SCANNER]],
  ])('%s', async (name, deliverables) => {
    const r = await inspectText(await fixture(name), deliverables);
    expect(r.markers).toEqual([]);
    expect(r.guide).toBe(false);
    expect(r.files.map((f) => f.path).sort()).toEqual([...deliverables].sort());
    for (const f of r.files) {
      expect(f.ref).toBe(sha256(r.contents[f.path]!));
      expect(r.contents[f.path]).toMatch(/\n$/);
    }
  });

  test('two files: each block goes to the file its info string names', async () => {
    const r = await inspectText(await fixture('code-two-files.md'), [SCANNER_TESTS, SCANNER]);
    expect(r.contents[SCANNER]).toMatch(/^"""Finds dangerous patterns/);
    expect(r.contents[SCANNER_TESTS]).toMatch(/^from validation\.code_scanner import CodeScanner/);
  });

  test('a `# path` line above a shebang is dropped so the shebang stays first', async () => {
    const r = await inspectText(await fixture('code-file-comments.md'), [SCANNER, ROLLOUT]);
    expect(r.contents[ROLLOUT]).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(r.contents[SCANNER]).toMatch(/^# File: wingman\/validation\/code_scanner\.py\n/);
  });

  test('the main block is taken, not the command shown after it', async () => {
    const r = await inspectText(await fixture('code-with-run-note.md'), [ANALYZER_TESTS]);
    expect(r.contents[ANALYZER_TESTS]).toMatch(/^import pytest/);
  });

  test('a path relative to the Python root still names the deliverable', async () => {
    const text = '```python path=validation/semantic_analyzer.py\nclass SemanticAnalyzer:\n    pass\n```\n';
    const r = await inspectText(text, [ANALYZER]);
    expect(r.guide).toBe(false);
    expect(r.files[0]?.path).toBe(ANALYZER);
  });

  test('an abstract method or Protocol may have a placeholder body', async () => {
    const text = [
      '```python path=wingman/validation/base.py',
      'from abc import ABC, abstractmethod',
      'from typing import Protocol',
      '',
      'class Scorer(Protocol):',
      '    def score(self, text: str) -> int: ...',
      '',
      'class Base(ABC):',
      '    @abstractmethod',
      '    def run(self):',
      '        raise NotImplementedError',
      '',
      'def clamp(v):',
      '    if v is None:',
      '        raise NotImplementedError("None is not supported yet")',
      '    return max(0, min(100, v))',
      '```',
    ].join('\n');
    expect((await inspectText(text, ['wingman/validation/base.py'])).markers).toEqual([]);
  });
});

describe('guides are caught', () => {
  test.each([
    [
      'guide-step-by-step.md',
      [ANALYZER],
      ['no code for wingman/validation/semantic_analyzer.py', 'prose: "Step N:" x5', 'prose: "you should" x2'],
    ],
    [
      'guide-heres-how.md',
      [SCANNER],
      [
        "placeholder in wingman/validation/code_scanner.py: line 6: scan() has a '...' placeholder",
        `prose: "Here's how"`,
        'prose (',
      ],
    ],
    ['guide-todo-code.md', [ANALYZER], ['TODO/FIXME in wingman/validation/semantic_analyzer.py']],
    [
      'guide-not-implemented.md',
      [ANALYZER],
      ['placeholder in wingman/validation/semantic_analyzer.py: line 6: score_clarity() raises NotImplementedError'],
    ],
    [
      'guide-ellipsis-bodies.md',
      [SCANNER],
      ["placeholder in wingman/validation/code_scanner.py: line 12: scan() body is only '...'"],
    ],
    ['guide-elided-update.md', [ANALYZER], ['elided code (# ...) in wingman/validation/semantic_analyzer.py']],
    ['guide-truncated.md', [SCANNER], ['wingman/validation/code_scanner.py does not parse: line 17: invalid syntax']],
    ['guide-prose-only.md', [ROLLOUT], ['no code for deploy/rollout_test.sh', 'prose: "TODO"']],
    ['guide-wrong-file.md', [ANALYZER], ['no code for wingman/validation/semantic_analyzer.py']],
  ])('%s', async (name, deliverables, expected) => {
    const r = await inspectText(await fixture(name), deliverables);
    expect(r.guide).toBe(true);
    for (const m of expected) expect(r.markers.some((x) => x.startsWith(m))).toBe(true);
  });

  test('a file of pass-only functions is a skeleton', async () => {
    const text =
      '```python path=wingman/x.py\nclass A:\n    def a(self):\n        pass\n\n    def b(self):\n        pass\n```\n';
    const r = await inspectText(text, ['wingman/x.py']);
    expect(r.guide).toBe(true);
    expect(r.markers.join('\n')).toMatch(/a\(\) body is only 'pass'/);
  });

  test('one no-op method among real ones is fine', async () => {
    const text =
      '```python path=wingman/x.py\nclass A:\n    def close(self):\n        pass\n\n' +
      '    def size(self):\n        return 1\n```\n';
    expect((await inspectText(text, ['wingman/x.py'])).guide).toBe(false);
  });

  test('"your code here" and a bash syntax error', async () => {
    const r = await inspectText(
      '```bash path=deploy/x.sh\nif true; then\n  echo hi\n```\n' +
        '```python path=a/b.py\ndef f():\n    return 1  # your code here\n```\n',
      ['deploy/x.sh', 'a/b.py'],
    );
    expect(r.guide).toBe(true);
    expect(r.markers).toEqual(
      expect.arrayContaining([expect.stringMatching(/^deploy\/x\.sh does not parse: /), 'your code here in a/b.py']),
    );
  });

  test('empty and oversized output', async () => {
    expect(await inspectText('  \n', [ANALYZER])).toMatchObject({ guide: true, markers: ['empty output'], files: [] });
    const big = '```python path=wingman/validation/semantic_analyzer.py\n' + 'x = 1\n'.repeat(200_000) + '```\n';
    expect((await inspectText(big, [ANALYZER])).markers[0]).toMatch(/^output larger than 1 MB/);
  });

  test('a markdown answer with no fence is not mistaken for bare code', async () => {
    const r = await inspectText(
      '# Semantic analyzer\n\nYou should start with the class. Then you can add the methods.\n',
      [ANALYZER],
    );
    expect(r.markers[0]).toBe('no code for wingman/validation/semantic_analyzer.py');
  });

  test('two unlabeled blocks for two files of the same kind are not guessed', async () => {
    const text = '```python\nx = 1\n```\n\n```python\ny = 2\n```\n';
    expect((await inspectText(text, ['a/one.py', 'a/two.py'])).markers).toEqual([
      'no code for a/one.py',
      'no code for a/two.py',
    ]);
  });
});

test('inspectOutput stores each file and returns refs to them', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'guide-'));
  try {
    const config = readConfig({ WINGMAN_STATE_DIR: dir });
    const store = new ArtifactStore(path.join(dir, 'artifacts'));
    const outputRef = await store.putBlob(await fixture('code-two-files.md'));
    const r = await inspectOutput({ config, store }, { outputRef, deliverables: [SCANNER, SCANNER_TESTS] });
    expect(r.guide).toBe(false);
    expect(r).not.toHaveProperty('contents');
    for (const f of r.files)
      expect(await store.get(f.ref)).toMatch(f.path === SCANNER ? /class CodeScanner/ : /def test_clean_source/);

    const guideRef = await store.putBlob(await fixture('guide-todo-code.md'));
    const g = await inspectOutput({ config, store }, { outputRef: guideRef, deliverables: [ANALYZER] });
    expect(g.guide).toBe(true);
    expect(g.markers).toContain('TODO/FIXME in wingman/validation/semantic_analyzer.py');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

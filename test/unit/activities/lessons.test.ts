// Lessons: what a retrospective teaches, how the lessons for a worker are chosen, and the
// bounded, scrubbed prompt section that carries them.
import {
  answerQuestions,
  chooseLessons,
  errorClassOf,
  failingAssertions,
  failuresOf,
  lessonRecord,
  lessonSentence,
  lessonsSection,
  LESSONS_MAX,
  LESSONS_MAX_CHARS,
  retrospectiveQuestions,
  scrubSecrets,
  type LessonRecord,
} from '../../../src/activities/lessons.js';
import type { Retrospective } from '../../../src/schemas.js';

const PYTEST_LOG = `$ pytest tests/test_bands.py -q
F.                                                                       [100%]
=================================== FAILURES ===================================
_________________________________ test_high ____________________________________

    def test_high():
>       assert band(0.9) == 'High'
E       AssertionError: assert 'Medium' == 'High'
E         - High
E         + Medium

tests/test_bands.py:4: AssertionError
=========================== short test summary info ============================
FAILED tests/test_bands.py::test_high - AssertionError: assert 'Medium' == 'High'
1 failed, 1 passed in 0.03s
[exit 1: tests failed; 2 tests, 1 passed, 1 failed or errors, 0 skipped; 310 ms]`;

const retro = (over: Partial<Retrospective> = {}): Retrospective => ({
  batchId: 'b1',
  workerId: 'WORKER_001',
  name: 'Bands',
  outcome: 'passed',
  provider: 'openai',
  attempts: 2,
  files: ['wingman/validation/bands.py', 'wingman/tests/test_bands.py'],
  notes: [],
  durationMs: 12_300,
  costUsd: 0.0123,
  tokens: { prompt: 1000, completion: 500 },
  tests: { passed: 2, failed: 0 },
  failures: [
    {
      attempt: 1,
      kind: 'tests',
      message: "FAILED tests/test_bands.py::test_high - AssertionError: assert 'Medium' == 'High'",
    },
  ],
  changes: 'regenerated with the test failure; tests passed',
  ...over,
});

const record = (over: Partial<LessonRecord>): LessonRecord => ({
  workerId: 'WORKER_900',
  batchId: 'b1',
  outcome: 'passed',
  files: ['other/x.py'],
  packages: ['other'],
  dependencies: [],
  errorClasses: ['AssertionError'],
  lesson: 'WORKER_900 attempt 1 failed its tests: x',
  storedAt: '2026-11-29T10:00:00.000Z',
  ...over,
});

test("the failing assertions of a pytest log: each test's id with the whole first E line of its section", () => {
  expect(failingAssertions(PYTEST_LOG)).toEqual([
    "tests/test_bands.py::test_high: AssertionError: assert 'Medium' == 'High'",
  ]);
  // The summary line alone (pytest cut it to the terminal width) when no section says more.
  expect(failingAssertions('FAILED tests/t.py::x - AssertionError: a long mess...\n1 failed')).toEqual([
    'FAILED tests/t.py::x - AssertionError: a long mess...',
  ]);
  expect(
    failingAssertions('E       ModuleNotFoundError: No module named wingman\nE   second\nE  third\nE  fourth'),
  ).toEqual(['ModuleNotFoundError: No module named wingman', 'second', 'third']);
  expect(failingAssertions('all good')).toEqual([]);
});

test('error classes come from the message, else from the kind', () => {
  expect(errorClassOf({ kind: 'tests', message: 'FAILED t.py::x - ModuleNotFoundError: nope' })).toBe(
    'ModuleNotFoundError',
  );
  expect(errorClassOf({ kind: 'tests', message: 'assert 1 == 2' })).toBe('AssertionError');
  expect(errorClassOf({ kind: 'guide', message: 'Step 1:' })).toBe('guide');
  expect(errorClassOf({ kind: 'criteria', message: '`from x import y` does not import' })).toBe('criteria');
});

test('a lesson names the failure and what fixed it; nothing to learn from a first-try pass', () => {
  const r = retro();
  const lesson = lessonSentence(r, r.failures!);
  expect(lesson).toContain('WORKER_001 (wingman/validation/bands.py, wingman/tests/test_bands.py)');
  expect(lesson).toContain(
    "attempt 1 failed its tests: FAILED tests/test_bands.py::test_high - AssertionError: assert 'Medium' == 'High'",
  );
  expect(lesson).toContain('Fixed by: regenerated with the test failure; tests passed.');
  expect(lessonSentence(retro({ attempts: 1, failures: [] }), [])).toBeNull();
});

test('without an attempt log, a failed worker teaches the failing assertion of its last test log', () => {
  const r = retro({ outcome: 'failed', failures: undefined, error: 'tests failed: [exit 1 ...]' });
  expect(failuresOf(r, PYTEST_LOG)).toEqual([
    { attempt: 2, kind: 'tests', message: "tests/test_bands.py::test_high: AssertionError: assert 'Medium' == 'High'" },
  ]);
  expect(failuresOf(retro({ outcome: 'guide', failures: [], error: 'still a guide: Step 1:' }), null)).toEqual([
    { attempt: 2, kind: 'guide', message: 'still a guide: Step 1:' },
  ]);
  expect(failuresOf(retro({ outcome: 'passed', failures: [] }), PYTEST_LOG)).toEqual([]);
  // A logged message pytest cut to the terminal width: the last run's is made whole from its log.
  const cut = retro({
    outcome: 'failed',
    failures: [
      { attempt: 1, kind: 'tests', message: "AssertionError: assert 'Med..." },
      { attempt: 2, kind: 'tests', message: "AssertionError: assert 'Med..." },
    ],
  });
  expect(failuresOf(cut, PYTEST_LOG).map((f) => f.message)).toEqual([
    "AssertionError: assert 'Med...",
    "tests/test_bands.py::test_high: AssertionError: assert 'Medium' == 'High'",
  ]);
});

test("the instruction's RETROSPECTIVE questions are answered where the data answers them", () => {
  const questions = retrospectiveQuestions(
    '- Which cases were hardest to pin down\n- Record which heuristics were chosen and why\n- How long did it take\n',
  );
  expect(questions).toEqual([
    'Which cases were hardest to pin down',
    'Record which heuristics were chosen and why',
    'How long did it take',
  ]);
  const answers = answerQuestions(questions, retro());
  expect(answers[0]!.answer).toContain(
    "attempt 1 tests: FAILED tests/test_bands.py::test_high - AssertionError: assert 'Medium' == 'High'",
  );
  expect(answers[1]!.answer).toBe('not answered by the data');
  expect(answers[2]!.answer).toBe('12.3 s over 2 generations');
  expect(answerQuestions(['Which rule was hardest to test'], retro({ attempts: 1, failures: [] }))[0]!.answer).toMatch(
    /passed on the first try \(2 tests\)/,
  );
  expect(retrospectiveQuestions('List rules that produced false positives.')).toEqual([
    'List rules that produced false positives.',
  ]);
});

test('keys and tokens are scrubbed; paths and test names stay', () => {
  const text =
    'OPENAI_API_KEY=sk-proj-abcdef1234567890 auth "Bearer abc.def.ghi123456" token: ghp_abcdefghijklmnop1234 ' +
    'hash 3f2a9c0d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f wingman/validation/semantic_analyzer.py ' +
    'test_semantic_analyzer_handles_every_band tokens: 1200';
  const out = scrubSecrets(text);
  expect(out).not.toMatch(/sk-proj|abcdef1234567890|abc\.def|ghp_|3f2a9c0d/);
  expect(out).toContain('OPENAI_API_KEY=[redacted]');
  expect(out).toContain('wingman/validation/semantic_analyzer.py');
  expect(out).toContain('test_semantic_analyzer_handles_every_band');
  expect(out).toContain('tokens: 1200');
});

test('lessons are ranked: dependency, same file, same package, same error class; one per author, newest', () => {
  const records = [
    record({ workerId: 'WORKER_005', errorClasses: ['TypeError'], lesson: 'unrelated, one worker only' }),
    record({ workerId: 'WORKER_004', errorClasses: ['ModuleNotFoundError'], lesson: 'module lesson A' }),
    record({ workerId: 'WORKER_006', errorClasses: ['ModuleNotFoundError'], lesson: 'module lesson B' }),
    record({
      workerId: 'WORKER_003',
      files: ['wingman/validation/other.py'],
      packages: ['wingman/validation'],
      errorClasses: ['guide'],
      lesson: 'package lesson',
    }),
    record({
      workerId: 'WORKER_002',
      files: ['wingman/validation/bands.py'],
      packages: ['wingman/validation'],
      errorClasses: ['criteria'],
      lesson: 'file lesson',
    }),
    record({ workerId: 'WORKER_001', lesson: 'old dependency lesson', storedAt: '2026-11-28T00:00:00.000Z' }),
    record({
      workerId: 'WORKER_001',
      lesson: 'new dependency lesson',
      storedAt: '2026-11-29T00:00:00.000Z',
      errorClasses: ['AssertionError', 'NameError'],
    }),
    record({ workerId: 'WORKER_007', errorClasses: ['NameError'], lesson: 'shares the dependency lesson class' }),
    record({ workerId: 'WORKER_008', errorClasses: ['AssertionError'], lesson: 'a failed assertion elsewhere' }),
  ];
  const chosen = chooseLessons(records, {
    workerId: 'WORKER_010',
    dependencies: ['WORKER_001'],
    deliverables: ['wingman/validation/bands.py'],
  });
  expect(chosen.map((c) => [c.record.workerId, c.why])).toEqual([
    ['WORKER_001', 'your dependency WORKER_001'],
    ['WORKER_002', 'wrote the same file wingman/validation/bands.py'],
    ['WORKER_003', 'same package wingman/validation'],
    ['WORKER_004', 'same error class ModuleNotFoundError (2 workers)'],
    ['WORKER_006', 'same error class ModuleNotFoundError (2 workers)'],
  ]);
  // With a larger cap, the lesson sharing the dependency's error class comes next; the one-off TypeError never does.
  const more = chooseLessons(
    records,
    { workerId: 'WORKER_010', dependencies: ['WORKER_001'], deliverables: ['wingman/validation/bands.py'] },
    10,
  );
  expect(more.map((c) => c.record.workerId)).toContain('WORKER_007');
  expect(more.map((c) => c.record.workerId)).not.toContain('WORKER_005');
  expect(more.map((c) => c.record.workerId)).not.toContain('WORKER_008');
  expect(chosen[0]!.record.lesson).toBe('new dependency lesson');
  expect(
    chooseLessons(records, { workerId: 'WORKER_010', dependencies: [], deliverables: ['x/y.py'] })
      .map((c) => c.record.workerId)
      .sort(),
  )
    // NameError and ModuleNotFoundError recur across two workers each; AssertionError recurs too (001, 008), but
    // says little here.
    .toEqual(['WORKER_001', 'WORKER_004', 'WORKER_006', 'WORKER_007']);
});

test('the prompt section is capped in lessons and characters, and scrubbed', () => {
  const many = Array.from({ length: 12 }, (_, i) => ({
    record: record({ workerId: `WORKER_${100 + i}`, lesson: `lesson ${i} ${'x'.repeat(300)} sk-abcdefghijklmnop` }),
    why: 'same package p',
  }));
  const section = lessonsSection(many.slice(0, LESSONS_MAX)).join('\n');
  expect(section.startsWith('# Lessons from earlier workers')).toBe(true);
  expect(section.length).toBeLessThanOrEqual(LESSONS_MAX_CHARS);
  expect(section).not.toContain('sk-abcdefghijklmnop');
  expect(section.match(/^- /gm)!.length).toBeGreaterThan(0);
  expect(section.match(/^- /gm)!.length).toBeLessThanOrEqual(LESSONS_MAX);
  expect(lessonsSection([])).toEqual([]);
});

test('a lesson record carries what the ranking needs', () => {
  const r = retro();
  const rec = lessonRecord(r, { dependencies: ['WORKER_000'], failures: r.failures!, lesson: 'L', storedAt: 't' });
  expect(rec).toEqual({
    workerId: 'WORKER_001',
    batchId: 'b1',
    outcome: 'passed',
    files: r.files,
    packages: ['wingman/validation', 'wingman/tests'],
    dependencies: ['WORKER_000'],
    errorClasses: ['AssertionError'],
    lesson: 'L',
    storedAt: 't',
  });
  expect(lessonRecord(r, { dependencies: [], failures: [], lesson: null, storedAt: 't' })).toBeNull();
});

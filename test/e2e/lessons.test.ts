// Workers learn from each other, end to end: a real dev server, the real CLI, the real `openai`
// SDK against the LLM stand-in (which records every prompt), real pytest, and the retrospectives
// read back from the local JSONL store or from the mem0 stand-in's POST /search.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { cliEnv, runCli } from '../support/cli.js';
import { writeInstructions } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn, type ScriptStep } from '../support/llm-standin.js';
import { startMem0StandIn, type Mem0StandIn } from '../support/mem0-standin.js';
import { startTestServer } from '../support/temporal.js';

let server: TestWorkflowEnvironment;
let llm: LlmStandIn;
let mem0: Mem0StandIn;

beforeAll(async () => {
  server = await startTestServer();
  llm = await startLlmStandIn();
  mem0 = await startMem0StandIn({ apiKey: 'mem0-key' });
});
afterAll(async () => {
  await mem0?.close();
  await llm?.close();
  await server?.teardown();
});

const BANDS = 'BANDS_MARKER: a score of 0.9 is High, not Medium';
const GRADE = 'GRADE_MARKER: grade(95) is A';

/**
 * Right only when the prompt carries `marker`: the lesson (or the test output of a regeneration) is what makes it
 * right.
 */
const rightWith =
  (marker: string, right: string, wrong: string): ScriptStep =>
  (call) => ({ code: call.prompt.includes(marker) ? right : wrong });

function setup(prefix: string) {
  const root = mkdtempSync(path.join(os.tmpdir(), `wingman-${prefix}-`));
  const workspace = path.join(root, 'workspace');
  const tests = path.join(workspace, 'wingman/tests');
  mkdirSync(tests, { recursive: true });
  writeFileSync(
    path.join(tests, 'test_bands.py'),
    `from bands.bands import band\n\n\ndef test_high():\n    assert band(0.9) == 'High', "${BANDS}"\n`,
  );
  writeFileSync(
    path.join(tests, 'test_labels.py'),
    `from bands.labels import label\n\n\ndef test_label():\n    assert label(0.9) == 'High'\n`,
  );
  writeFileSync(
    path.join(tests, 'test_grade.py'),
    `from grades.grade import grade\n\n\ndef test_a():\n    assert grade(95) == 'A', "${GRADE}"\n`,
  );
  writeFileSync(
    path.join(tests, 'test_summary.py'),
    `from reports.summary import summary\n\n\ndef test_summary():\n    assert summary(95) == 'grade A'\n`,
  );
  const workers = path.join(root, 'workers');
  writeInstructions(workers, [
    // Fails twice with a clear assertion: ends failed. A later worker of the same package learns from it.
    { id: 'WORKER_101', files: ['wingman/bands/bands.py'], test: 'pytest tests/test_bands.py' },
    { id: 'WORKER_102', files: ['wingman/bands/labels.py'], test: 'pytest tests/test_labels.py' },
    // Fails once, passes on the regeneration: its dependent learns from that first failure.
    { id: 'WORKER_103', files: ['wingman/grades/grade.py'], test: 'pytest tests/test_grade.py' },
    {
      id: 'WORKER_104',
      files: ['wingman/reports/summary.py'],
      test: 'pytest tests/test_summary.py',
      dependsOn: ['WORKER_103'],
    },
  ]);
  return { root, workspace, workers, state: path.join(root, 'state'), report: path.join(root, 'report.json') };
}

function script(): void {
  llm.reset();
  llm.script('WORKER_101', [{ code: "def band(score: float) -> str:\n    return 'Medium'\n" }]);
  // Knows 0.9 is High only when told so.
  llm.script('WORKER_102', [
    rightWith(
      BANDS,
      "def label(score: float) -> str:\n    return 'High' if score >= 0.8 else 'Low'\n",
      "def label(score: float) -> str:\n    return 'Medium'\n",
    ),
  ]);
  llm.script('WORKER_103', [
    rightWith(
      GRADE,
      "def grade(n: int) -> str:\n    return 'A' if n >= 90 else 'B'\n",
      "def grade(n: int) -> str:\n    return 'B'\n",
    ),
  ]);
  // The dependency's lesson may quote pytest's summary line, which pytest cuts to the terminal width: the marker is
  // enough.
  llm.script('WORKER_104', [
    rightWith(
      'GRADE_MARKER',
      "def summary(n: int) -> str:\n    return 'grade A' if n >= 90 else 'grade B'\n",
      "def summary(n: int) -> str:\n    return 'grade B'\n",
    ),
  ]);
}

async function runBatch(dirs: ReturnType<typeof setup>, extraEnv: Record<string, string>) {
  script();
  const r = await runCli(
    'starter',
    [
      '--workers',
      dirs.workers,
      '--workspace',
      dirs.workspace,
      '--python-root',
      'wingman',
      '--batch-id',
      `lessons-${Date.now()}`,
      '--report',
      dirs.report,
      '--concurrency',
      '1',
      '--no-suite',
    ],
    {
      cwd: dirs.root,
      env: cliEnv({
        TEMPORAL_ADDRESS: server.address,
        OPENAI_API_KEY: 'sk-test-e2e-not-a-real-key',
        OPENAI_BASE_URL: llm.openaiBaseUrl,
        WINGMAN_STATE_DIR: dirs.state,
        WINGMAN_LLM_MAX_ATTEMPTS: '2',
        WINGMAN_LLM_RETRY_INITIAL_MS: '100',
        WINGMAN_LLM_RETRY_MAX_MS: '200',
        ...extraEnv,
      }),
    },
  );
  const report = JSON.parse(readFileSync(dirs.report, 'utf8')) as Report;
  const prompts = (id: string) => llm.callsFor(id).map((c) => c.prompt);
  return { ...r, report, prompts, worker: (id: string) => report.workers.find((w) => w.id === id)! };
}

type Run = Awaited<ReturnType<typeof runBatch>>;

function expectLessons(run: Run): void {
  // The failed worker's assertion is in its package neighbour's first prompt, which is then right the first time.
  expect(run.worker('WORKER_101')).toMatchObject({ outcome: 'failed', attempts: 2 });
  const first102 = run.prompts('WORKER_102')[0]!;
  expect(first102).toContain('# Lessons from earlier workers');
  expect(first102).toContain('(same package wingman/bands) WORKER_101 (wingman/bands/bands.py)');
  expect(first102).toContain(BANDS);
  expect(run.worker('WORKER_102')).toMatchObject({ outcome: 'passed', attempts: 1 });
  // The section is bounded, and the prompt carries no key.
  const section = first102.slice(
    first102.indexOf('# Lessons from earlier workers'),
    first102.indexOf('# Output format'),
  );
  expect(section.length).toBeLessThanOrEqual(1_500 + 2);
  expect(first102).not.toContain('sk-test-e2e-not-a-real-key');
  // The first worker had nobody to learn from.
  expect(run.prompts('WORKER_101')[0]).not.toContain('# Lessons from earlier workers');
}

function expectDependencyLesson(run: Run): void {
  // WORKER_103 failed once with a clear assertion, then passed; its dependent's FIRST prompt carries that message.
  expect(run.worker('WORKER_103')).toMatchObject({ outcome: 'passed', attempts: 2 });
  const first104 = run.prompts('WORKER_104')[0]!;
  expect(first104).toContain('(your dependency WORKER_103)');
  expect(first104).toContain('GRADE_MARKER');
  expect(run.worker('WORKER_104')).toMatchObject({ outcome: 'passed', attempts: 1 });
}

describe('lessons through the local JSONL store (mem0 not configured)', () => {
  let run: Run;
  let dirs: ReturnType<typeof setup>;
  beforeAll(async () => {
    dirs = setup('lessons-local');
    run = await runBatch(dirs, {});
  }, 300_000);

  test('a failed worker teaches its package neighbour', () => {
    expect(run.exitCode).toBe(1); // WORKER_101 failed
    expectLessons(run);
  });

  test('a dependency that failed once teaches its dependent', () => expectDependencyLesson(run));

  test('the retrospectives are in the local store, with what a later worker can use', () => {
    const lines = readFileSync(path.join(dirs.state, 'memory.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.workerId).sort()).toEqual(['WORKER_101', 'WORKER_102', 'WORKER_103', 'WORKER_104']);
    const w101 = lines.find((l) => l.workerId === 'WORKER_101');
    expect(w101).toMatchObject({ outcome: 'failed', model: 'gpt-4o-mini', attempts: 2 });
    expect(w101.durationMs).toBeGreaterThan(0);
    expect(w101.text).toContain(BANDS);
    expect(w101.answers).toEqual([{ question: 'Note what was hard', answer: expect.stringContaining(BANDS) }]);
    // Passed on the first try: nothing to teach.
    expect(lines.find((l) => l.workerId === 'WORKER_102').lesson).toBeNull();
  });

  test('npm run batch -- retro ID answers the review questions from the report', async () => {
    // The report given, or where Temporal says it is.
    const env = cliEnv({ TEMPORAL_ADDRESS: server.address, WINGMAN_STATE_DIR: dirs.state });
    const given = await runCli('batch-control', ['retro', run.report.batchId, '--report', dirs.report], {
      cwd: dirs.root,
      env,
    });
    expect(given).toMatchObject({ exitCode: 0 });
    expect(given.stdout).toContain('Took longest:');
    expect(given.stdout).toMatch(/openai gpt-4o-mini: 4 workers, passed first try \d/);
    expect(given.stdout).toMatch(/Most common test failures:\n\s+\d+×\s+AssertionError: .*BANDS_MARKER/);
    const asked = await runCli('batch-control', ['retro', run.report.batchId, '--json'], { cwd: dirs.root, env });
    expect(asked).toMatchObject({ exitCode: 0 });
    expect(JSON.parse(asked.stdout).longest).toHaveLength(4);
    expect(
      await runCli('batch-control', ['retro', 'no-such-batch', '--report', path.join(dirs.root, 'none.json')], {
        cwd: dirs.root,
        env,
      }),
    ).toMatchObject({ exitCode: 3 });
  }, 60_000);

  test('WINGMAN_LESSONS=off: the same batch without lessons regenerates', async () => {
    const off = setup('lessons-off');
    const r = await runBatch(off, { WINGMAN_LESSONS: 'off' });
    expect(r.prompts('WORKER_102')[0]).not.toContain('# Lessons from earlier workers');
    expect(r.worker('WORKER_102')).toMatchObject({ outcome: 'failed', attempts: 2 });
    expect(existsSync(path.join(off.state, 'memory.jsonl'))).toBe(true); // still written, only not read
  }, 300_000);
});

describe('lessons through mem0 (its /memories and /search)', () => {
  let run: Run;
  let dirs: ReturnType<typeof setup>;
  beforeAll(async () => {
    dirs = setup('lessons-mem0');
    run = await runBatch(dirs, { MEM0_API_URL: mem0.url, MEM0_API_KEY: 'mem0-key', MEM0_USER_ID: `e2e-${Date.now()}` });
  }, 300_000);

  test('retrospectives go to mem0, lessons come from its search', () => {
    expect(mem0.calls.filter((c) => c.path === '/memories' && c.status === 200)).toHaveLength(4);
    const searches = mem0.calls.filter((c) => c.path === '/search');
    expect(searches.length).toBeGreaterThan(0);
    expect(searches.every((c) => c.status === 200 && c.apiKey === 'mem0-key')).toBe(true);
    expect(existsSync(path.join(dirs.state, 'memory.jsonl'))).toBe(false);
    expectLessons(run);
  });

  test('a dependency that failed once teaches its dependent', () => expectDependencyLesson(run));
});

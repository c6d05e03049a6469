// checkCriteria on the sample instructions, against real files and real python.
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactStore } from '../../../src/activities/artifacts.js';
import { readConfig } from '../../../src/config.js';
import { checkCriteria, classify } from '../../../src/activities/criteria.js';
import { parseInstructionFile } from '../../../src/instructions/parse.js';

const corpus = fileURLToPath(new URL('../../../../shared/corpus/workers/', import.meta.url));
const fixtures = fileURLToPath(new URL('../../fixtures/llm-output/', import.meta.url));

let dir: string;
let workspace: string;

/** The first fenced block of a fixture (the code a worker would have written). */
async function codeOf(fixture: string): Promise<string> {
  const md = await readFile(path.join(fixtures, fixture), 'utf8');
  const start = md.indexOf('```');
  const body = md.slice(md.indexOf('\n', start) + 1);
  return body.slice(0, body.indexOf('\n```') + 1);
}
async function write(rel: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(workspace, rel)), { recursive: true });
  await writeFile(path.join(workspace, rel), text);
}
async function check(
  worker: string,
  deliverables: string[],
  tests = { passed: 0, failed: 0 },
  env: Record<string, string> = {},
) {
  const instructionFile = path.join(dir, `${worker}.md`);
  await copyFile(path.join(corpus, `${worker}.md`), instructionFile);
  const deps = {
    config: readConfig({ WINGMAN_STATE_DIR: path.join(dir, 'state'), ...env }),
    store: new ArtifactStore(path.join(dir, 'state', 'a')),
  };
  return checkCriteria(deps, {
    workerId: worker,
    instructionFile,
    workspace,
    pythonRoot: 'wingman',
    deliverables,
    tests,
  });
}
const status = (r: Awaited<ReturnType<typeof check>>) => r.results.map((x) => x.status);

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'criteria-'));
  workspace = path.join(dir, 'ws');
  await write('wingman/validation/semantic_analyzer.py', await codeOf('code-single-file.md'));
  await write('wingman/tests/test_semantic_analyzer.py', await codeOf('code-heading-per-file.md'));
  await write('deploy/rollout_test.sh', await codeOf('code-rollout-script.md'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

test('every criterion of the corpus is classified as expected', async () => {
  const kinds: Record<string, string[]> = {};
  for (const f of (await readdir(corpus)).sort()) {
    const ins = await parseInstructionFile(path.join(corpus, f));
    kinds[ins.id] = ins.successCriteria.map((c) => classify(c).kind);
  }
  expect(kinds).toEqual({
    WORKER_001: ['import', 'unchecked', 'unchecked'],
    WORKER_002: ['unchecked', 'unchecked', 'unchecked'],
    WORKER_013: ['count', 'import', 'unchecked'],
    WORKER_019: ['unchecked', 'unchecked', 'unchecked'],
    WORKER_034: ['count', 'import'],
    WORKER_211: ['command', 'unchecked'],
  });
  expect(classify('4 tests, all passing under pytest')).toEqual({
    kind: 'count',
    n: 4,
    atLeast: false,
    allPassing: true,
  });
  expect(classify('At least 3 unit tests')).toMatchObject({ kind: 'count', n: 3, atLeast: true, allPassing: false });
  expect(classify('All tests pass')).toEqual({ kind: 'passing' });
  expect(classify('Tests import with `from validation.semantic_analyzer import SemanticAnalyzer`')).toMatchObject({
    inTests: true,
  });
  expect(classify('`import validation.code_scanner` works')).toMatchObject({
    kind: 'import',
    stmt: 'import validation.code_scanner',
    inTests: false,
  });
  expect(classify('`curl http://example.com` returns 200')).toMatchObject({ kind: 'unchecked' });
  expect(classify('`pytest tests/x.py; rm -rf /` passes')).toMatchObject({ kind: 'unchecked' });
});

test('WORKER_013 met: 4 tests all passing, the tests import as required and it imports', async () => {
  const r = await check('WORKER_013', ['wingman/tests/test_semantic_analyzer.py'], { passed: 4, failed: 0 });
  expect(r.ok).toBe(true);
  expect(status(r)).toEqual(['met', 'met', 'unchecked']);
  expect(r.results[1]?.detail).toBe(
    'from validation.semantic_analyzer import SemanticAnalyzer imports and the tests use it',
  );
});

test('WORKER_013 unmet: a failing test, and a test file that imports another way', async () => {
  await write(
    'wingman/tests/test_semantic_analyzer.py',
    'import validation.semantic_analyzer as sa\n\ndef test_x():\n    assert sa.SemanticAnalyzer()\n',
  );
  const r = await check('WORKER_013', ['wingman/tests/test_semantic_analyzer.py'], { passed: 3, failed: 1 });
  expect(r.ok).toBe(false);
  expect(status(r)).toEqual(['unmet', 'unmet', 'unchecked']);
  expect(r.results[0]?.detail).toBe('expected 4 tests, all passing; ran 4 (3 passed, 1 failed)');
  expect(r.results[1]?.detail).toMatch(
    /test_semantic_analyzer\.py does not contain from validation\.semantic_analyzer import SemanticAnalyzer$/,
  );
});

test('WORKER_001: the import is checked by importing, with the error line when it fails', async () => {
  expect(status(await check('WORKER_001', ['wingman/validation/semantic_analyzer.py']))).toEqual([
    'met',
    'unchecked',
    'unchecked',
  ]);
  await write('wingman/validation/semantic_analyzer.py', 'import requests_that_do_not_exist\n');
  const r = await check('WORKER_001', ['wingman/validation/semantic_analyzer.py']);
  expect(r.ok).toBe(false);
  expect(r.results[0]?.detail).toBe(
    'from validation.semantic_analyzer import SemanticAnalyzer fails: ' +
      "ModuleNotFoundError: No module named 'requests_that_do_not_exist'",
  );
  await write('wingman/validation/semantic_analyzer.py', 'class Other:\n    pass\n');
  expect((await check('WORKER_001', []))?.results[0]?.detail).toMatch(
    /ImportError: cannot import name 'SemanticAnalyzer'/,
  );
});

test('the import check runs generated code in the sandbox, out of sight of the worker and the checkout', async () => {
  // A module that, when imported, refuses to load if it can see the worker process or read the checkout.
  const checkout = fileURLToPath(new URL('../../../', import.meta.url));
  await write(
    'wingman/validation/semantic_analyzer.py',
    [
      'import os',
      `if os.path.exists("/proc/${process.pid}/environ"):`,
      '    raise RuntimeError("sees the worker process")',
      `if os.path.exists(${JSON.stringify(path.join(checkout, 'package.json'))}):`,
      '    raise RuntimeError("reads the checkout")',
      'class SemanticAnalyzer:',
      '    pass',
      '',
    ].join('\n'),
  );
  const r = await check('WORKER_001', ['wingman/validation/semantic_analyzer.py']);
  expect(r.results[0]).toMatchObject({ status: 'met' });
});

test('an import that hangs is stopped at the time limit', async () => {
  await write('wingman/validation/semantic_analyzer.py', 'import time\ntime.sleep(1000)\n');
  const started = Date.now();
  const r = await check('WORKER_001', [], undefined, { WINGMAN_TEST_TIMEOUT_MS: '1500' });
  expect(Date.now() - started).toBeLessThan(5000);
  expect(r.results[0]).toMatchObject({ status: 'unmet', detail: 'importing timed out after 1500 ms' });
});

test('WORKER_211: a backticked `bash -n` criterion runs from the workspace root', async () => {
  const ok = await check('WORKER_211', ['deploy/rollout_test.sh']);
  expect(ok.ok).toBe(true);
  expect(ok.results[0]).toMatchObject({ status: 'met', detail: 'bash -n deploy/rollout_test.sh exited 0' });
  await write('deploy/rollout_test.sh', '#!/usr/bin/env bash\nfor p in 10 50; do\n  echo $p\n');
  const bad = await check('WORKER_211', ['deploy/rollout_test.sh']);
  expect(bad.ok).toBe(false);
  expect(bad.results[0]?.status).toBe('unmet');
  expect(bad.results[0]?.detail).toMatch(/^bash -n deploy\/rollout_test\.sh exited 2: .*syntax error/);
});

test('the workspace activities together: WORKER_019 then WORKER_034, from LLM answer to met criteria', async () => {
  const { createWorkspaceActivities } = await import('../../../src/activities/workspace.js');
  const { sha256 } = await import('../../../src/activities/artifacts.js');
  const config = readConfig({ WINGMAN_STATE_DIR: path.join(dir, 'state') });
  const store = new ArtifactStore(path.join(dir, 'state', 'artifacts'));
  const acts = createWorkspaceActivities({ config, store });
  const answer = await store.putBlob(await readFile(path.join(fixtures, 'code-two-files.md'), 'utf8'));

  const steps: Array<[string, string, string[][]]> = [
    [
      'WORKER_019',
      'wingman/validation/code_scanner.py',
      [['python', '-m', 'py_compile', 'validation/code_scanner.py']],
    ],
    ['WORKER_034', 'wingman/tests/test_code_scanner.py', [['pytest', 'tests/test_code_scanner.py', '-v']]],
  ];
  for (const [worker, deliverable, commands] of steps) {
    const instructionFile = path.join(corpus, `${worker}.md`);
    const prompt = await acts.preparePrompt({
      workerId: worker,
      instructionFile,
      instructionSha256: sha256(await readFile(instructionFile)),
      deliverables: [deliverable],
      dependencyFiles: worker === 'WORKER_034' ? ['wingman/validation/code_scanner.py'] : [],
      workspace,
      pythonRoot: 'wingman',
      feedback: null,
    });
    expect(prompt.chars).toBeGreaterThan(1000);
    const inspection = await acts.inspectOutput({ outputRef: answer, deliverables: [deliverable] });
    expect(inspection).toMatchObject({ guide: false, markers: [] });
    const { written } = await acts.writeDeliverables({ workspace, files: inspection.files });
    expect(written.map((w) => w.path)).toEqual([deliverable]);
    const run = await acts.runTests({ workerId: worker, workspace, pythonRoot: 'wingman', commands });
    expect(run.ok).toBe(true);
    const criteria = await acts.checkCriteria({
      workerId: worker,
      instructionFile,
      workspace,
      pythonRoot: 'wingman',
      deliverables: [deliverable],
      tests: run,
    });
    expect(criteria.ok).toBe(true);
    if (worker === 'WORKER_034') {
      expect(run).toMatchObject({ passed: 7, failed: 0 });
      expect(criteria.results.map((r) => r.status)).toEqual(['met', 'met']);
    }
    expect(
      await acts.storeRetrospective({
        batchId: 'b',
        workerId: worker,
        name: worker,
        outcome: 'passed',
        provider: 'openai',
        attempts: 1,
        files: [deliverable],
        notes: [],
      }),
    ).toEqual({ stored: 'local' });
  }
  // bad input is refused for good, not retried
  await expect(
    acts.runTests({ workerId: 'x', workspace, pythonRoot: '../outside', commands: [] }),
  ).rejects.toMatchObject({ type: 'PathOutsideWorkspace', nonRetryable: true });
  await expect(acts.writeDeliverables({ workspace, files: [{ path: 'a.py' } as never] })).rejects.toMatchObject({
    type: 'BadRequest',
    nonRetryable: true,
  });
});

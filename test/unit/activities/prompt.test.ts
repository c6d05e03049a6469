// preparePrompt on the sample instructions, with real files in a temp workspace and real python.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactStore, sha256 } from '../../../src/activities/artifacts.js';
import { readConfig } from '../../../src/config.js';
import { importPathFor, preparePrompt } from '../../../src/activities/prompt.js';
import { outline, publicNames, realPython } from '../../../src/activities/process/python.js';
import type { PromptRequest, Retrospective } from '../../../src/schemas.js';
import { storeRetrospective } from '../../../src/activities/memory.js';
import { LESSONS_MAX_CHARS } from '../../../src/activities/lessons.js';

const corpus = fileURLToPath(new URL('../../../../shared/corpus/workers/', import.meta.url));
const fixtures = fileURLToPath(new URL('../../fixtures/llm-output/', import.meta.url));

let dir: string;
let workspace: string;
let deps: { config: ReturnType<typeof readConfig>; store: ArtifactStore };

async function analyzerSource(): Promise<string> {
  const md = await readFile(path.join(fixtures, 'code-single-file.md'), 'utf8');
  return md.slice(md.indexOf('\n') + 1, md.lastIndexOf('```'));
}

async function request(worker: string, over: Partial<PromptRequest> = {}): Promise<PromptRequest> {
  const file = path.join(dir, `${worker}.md`);
  await copyFile(path.join(corpus, `${worker}.md`), file);
  return {
    workerId: worker,
    instructionFile: file,
    instructionSha256: sha256(await readFile(file)),
    deliverables: [],
    dependencyFiles: [],
    workspace,
    pythonRoot: 'wingman',
    feedback: null,
    ...over,
  };
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'prompt-'));
  workspace = path.join(dir, 'ws');
  await mkdir(path.join(workspace, 'wingman/validation'), { recursive: true });
  await writeFile(path.join(workspace, 'wingman/validation/semantic_analyzer.py'), await analyzerSource());
  deps = {
    config: readConfig({ WINGMAN_STATE_DIR: path.join(dir, 'state') }),
    store: new ArtifactStore(path.join(dir, 'state', 'artifacts')),
  };
});
afterEach(() => rm(dir, { recursive: true, force: true }));

test('importPathFor computes the module from the Python root', () => {
  expect(importPathFor('wingman/validation/semantic_analyzer.py', 'wingman')).toBe('validation.semantic_analyzer');
  expect(importPathFor('wingman/validation/semantic_analyzer.py', 'wingman/')).toBe('validation.semantic_analyzer');
  expect(importPathFor('./wingman/tests/test_code_scanner.py', './wingman')).toBe('tests.test_code_scanner');
  expect(importPathFor('wingman/validation/__init__.py', 'wingman')).toBe('validation');
  expect(importPathFor('wingman/top.py', 'wingman')).toBe('top');
  expect(importPathFor('src/pkg/mod.py', '.')).toBe('src.pkg.mod');
  expect(importPathFor('src/pkg/mod.py', '')).toBe('src.pkg.mod');
  expect(importPathFor('deploy/rollout_test.sh', 'wingman')).toBeNull();
  expect(importPathFor('other/mod.py', 'wingman')).toBeNull(); // outside the root: not importable from it
  expect(importPathFor('wingman/my-module.py', 'wingman')).toBeNull(); // not a valid module name
  expect(importPathFor('wingmanx/mod.py', 'wingman')).toBeNull();
});

test('publicNames reads classes, fields, method and function signatures in one process', async () => {
  const file = path.join(dir, 'mod.py');
  await writeFile(
    file,
    [
      'from dataclasses import dataclass',
      '@dataclass',
      'class Finding:',
      '    rule: str',
      '    line: int',
      '    _private: int = 0',
      'class CodeScanner(Base):',
      '    def __init__(self, strict: bool = False): ...',
      '    def scan(self, source: str) -> list[Finding]: ...',
      '    def _helper(self): ...',
      'async def fetch(url, *, timeout=5.0) -> bytes: ...',
      'def _hidden(): ...',
    ].join('\n'),
  );
  const broken = path.join(dir, 'broken.py');
  await writeFile(broken, 'def f(:\n');
  const names = await publicNames([file, broken], await realPython('python3'));
  expect(names[file]).toEqual({
    classes: [
      { name: 'Finding', decorators: ['@dataclass'], bases: [], fields: ['rule: str', 'line: int'], methods: [] },
      {
        name: 'CodeScanner',
        decorators: [],
        bases: ['Base'],
        fields: [],
        methods: ['def __init__(self, strict: bool=False)', 'def scan(self, source: str) -> list[Finding]'],
      },
    ],
    functions: ['async def fetch(url, *, timeout=5.0) -> bytes'],
  });
  expect(names[broken]?.error).toMatch(/SyntaxError/);
  expect(outline(names[file]!)).toBe(
    [
      '@dataclass',
      'class Finding:',
      '    rule: str',
      '    line: int',
      'class CodeScanner(Base):',
      '    def __init__(self, strict: bool=False)',
      '    def scan(self, source: str) -> list[Finding]',
      'async def fetch(url, *, timeout=5.0) -> bytes',
    ].join('\n'),
  );
});

test('realPython resolves the interpreter behind the shim once', async () => {
  const a = await realPython('python3');
  expect(path.isAbsolute(a)).toBe(true);
  const t = Date.now();
  expect(await realPython('python3')).toBe(a);
  expect(Date.now() - t).toBeLessThan(20);
});

test('a test worker: paths, import paths, dependency names, the whole instruction, the output contract', async () => {
  const req = await request('WORKER_013', {
    deliverables: ['wingman/tests/test_semantic_analyzer.py'],
    dependencyFiles: ['wingman/validation/semantic_analyzer.py', 'wingman/validation/not_yet.py'],
  });
  const ref = await preparePrompt(deps, req);
  const prompt = await deps.store.readBlob(ref.promptRef);
  expect(ref.chars).toBe(prompt.length);
  expect(prompt).toMatch(/^You are WORKER_013: Semantic Analyzer - Clarity Tests\./);
  expect(prompt).toContain(await readFile(req.instructionFile, 'utf8'));
  expect(prompt).toContain(
    '- `wingman/tests/test_semantic_analyzer.py` — test module `tests.test_semantic_analyzer`, ' +
      'run by pytest from `wingman/` (new file)',
  );
  expect(prompt).toContain(
    '## `wingman/validation/semantic_analyzer.py` — `from validation.semantic_analyzer import SemanticAnalyzer`',
  );
  expect(prompt).toContain('    def __init__(self, ollama_endpoint: str | None=None, timeout: float=10.0) -> None');
  expect(prompt).toContain('    def score_clarity(self, text: str) -> int');
  expect(prompt).not.toContain('_ask_ollama');
  expect(prompt).toContain('- `wingman/validation/not_yet.py` (module `validation.not_yet`): not present yet');
  expect(prompt).toContain('```python path=wingman/tests/test_semantic_analyzer.py');
  expect(prompt).toMatch(/no TODO or FIXME, no placeholders/i);
  expect(prompt).toContain(
    'Tests import modules by their import paths (`validation.semantic_analyzer`) ' +
      'and run from the Python root `wingman/`',
  );
  // the analyzer's code itself is not pasted for a dependency: its names are
  expect(prompt).not.toContain('_IMPERATIVE = re.compile');
});

test('an update: the current content of the deliverable is in the prompt', async () => {
  const req = await request('WORKER_002', {
    deliverables: ['wingman/validation/semantic_analyzer.py'],
    dependencyFiles: ['wingman/validation/semantic_analyzer.py'],
  });
  const prompt = await deps.store.readBlob((await preparePrompt(deps, req)).promptRef);
  expect(prompt).toContain('(exists: its current content is below; output the whole updated file)');
  expect(prompt).toContain('## Current content of wingman/validation/semantic_analyzer.py');
  expect(prompt).toContain(await analyzerSource());
});

test('a shell deliverable has no import path', async () => {
  await mkdir(path.join(workspace, 'wingman/tests'));
  await writeFile(path.join(workspace, 'wingman/tests/test_semantic_analyzer.py'), 'def test_x():\n    assert True\n');
  const req = await request('WORKER_211', {
    deliverables: ['deploy/rollout_test.sh'],
    dependencyFiles: ['wingman/tests/test_semantic_analyzer.py', 'wingman/tests/test_code_scanner.py'],
  });
  const prompt = await deps.store.readBlob((await preparePrompt(deps, req)).promptRef);
  expect(prompt).toContain(
    '- `wingman/tests/test_semantic_analyzer.py`: tests\n- `wingman/tests/test_code_scanner.py`: not present yet',
  );
  expect(prompt).not.toContain('def test_x');
  expect(prompt).toContain('- `deploy/rollout_test.sh` (new file)');
  expect(prompt).toContain('```bash path=deploy/rollout_test.sh');
});

test('an instruction that changed since the batch started is refused for good', async () => {
  const req = await request('WORKER_001', { deliverables: ['wingman/validation/semantic_analyzer.py'] });
  await writeFile(req.instructionFile, '# WORKER_001: changed\n', { flag: 'a' });
  await expect(preparePrompt(deps, req)).rejects.toMatchObject({ type: 'InstructionChanged', nonRetryable: true });
});

test('a retry after a guide opens with the markers found', async () => {
  const markers = ['no code for wingman/validation/semantic_analyzer.py', 'prose: "Step N:" x5'];
  const req = await request('WORKER_001', {
    deliverables: ['wingman/validation/semantic_analyzer.py'],
    feedback: { kind: 'guide', markers },
  });
  const prompt = await deps.store.readBlob((await preparePrompt(deps, req)).promptRef);
  expect(prompt).toMatch(/^IMPORTANT: your previous answer was a guide, not the code/);
  expect(prompt).toContain('  - prose: "Step N:" x5');
  expect(prompt).toContain('Write the code itself');
});

test('a retry after failing tests carries the tail of the test output', async () => {
  const head = 'HEAD-OF-THE-LOG\n';
  const output =
    head +
    'x'.repeat(60) +
    '\n'.repeat(1) +
    Array.from({ length: 2000 }, (_, i) => `line ${i} of the test output`).join('\n') +
    '\nFAILED tests/test_semantic_analyzer.py::test_vague - assert 35 < 20\n=== 1 failed, 3 passed in 0.05s ===\n';
  const outputRef = await deps.store.putBlob(output);
  const req = await request('WORKER_013', {
    deliverables: ['wingman/tests/test_semantic_analyzer.py'],
    feedback: { kind: 'tests', outputRef, summary: '1 failed, 3 passed' },
  });
  const prompt = await deps.store.readBlob((await preparePrompt(deps, req)).promptRef);
  expect(prompt).toContain('# Your previous code failed its tests');
  expect(prompt).toContain('=== 1 failed, 3 passed in 0.05s ===');
  expect(prompt).toContain('Fix the code so these tests pass');
  expect(prompt).not.toContain('HEAD-OF-THE-LOG');
  const section = prompt.slice(prompt.indexOf('# Your previous code failed'), prompt.indexOf('Fix the code'));
  expect(Buffer.byteLength(section)).toBeLessThan(8 * 1024 + 400);
});

// ---- lessons from earlier workers (the first prompt only) ----

const ASSERT_013 = 'tests/test_semantic_analyzer.py::test_vague: AssertionError: assert 35 < 20';
/**
 * WORKER_001 (which WORKER_013 depends on) failed once with a clear assertion, then passed; as the instruction
 * workflow records it.
 */
const dependencyRetro = (over: Partial<Retrospective> = {}): Retrospective => ({
  batchId: 'b1',
  workerId: 'WORKER_001',
  name: 'Semantic Analyzer',
  outcome: 'passed',
  provider: 'openai',
  attempts: 2,
  files: ['wingman/validation/semantic_analyzer.py'],
  notes: [],
  failures: [{ attempt: 1, kind: 'tests', message: ASSERT_013 }],
  changes: 'regenerated with the test failure; tests passed',
  ...over,
});

test("a worker's first prompt carries the assertion its dependency failed with, bounded and scrubbed", async () => {
  await storeRetrospective(deps, dependencyRetro());
  // Many more, with a key in one: the section stays within its cap and carries no key.
  for (let i = 0; i < 12; i++) {
    await storeRetrospective(
      deps,
      dependencyRetro({
        workerId: `WORKER_${300 + i}`,
        files: [`wingman/tests/helper_${i}.py`],
        failures: [
          { attempt: 1, kind: 'tests', message: `OPENAI_API_KEY=sk-live-abcdefghijklmnop ${'long '.repeat(80)}` },
        ],
      }),
    );
  }
  const req = await request('WORKER_013', { deliverables: ['wingman/tests/test_semantic_analyzer.py'] });
  const prompt = await deps.store.readBlob((await preparePrompt(deps, req)).promptRef);
  const start = prompt.indexOf('# Lessons from earlier workers');
  expect(start).toBeGreaterThan(prompt.indexOf('# Files to write'));
  const section = prompt.slice(start, prompt.indexOf('# Output format'));
  expect(section).toContain(
    '- (your dependency WORKER_001) WORKER_001 (wingman/validation/semantic_analyzer.py) ' +
      `attempt 1 failed its tests: ${ASSERT_013}.`,
  );
  expect(section).toContain('Fixed by: regenerated with the test failure; tests passed.');
  expect(section.trim().length).toBeLessThanOrEqual(LESSONS_MAX_CHARS);
  expect(section).toContain('(same package wingman/tests)');
  expect(prompt).not.toContain('sk-live-abcdefghijklmnop');
});

test('no lessons in a regeneration, none when nothing was learnt, none when off', async () => {
  // A regeneration carries its own failure.
  const fresh = await request('WORKER_013', { deliverables: ['wingman/tests/test_semantic_analyzer.py'] });
  expect(await deps.store.readBlob((await preparePrompt(deps, fresh)).promptRef)).not.toContain(
    '# Lessons from earlier workers',
  );
  await storeRetrospective(deps, dependencyRetro());
  const retry = await request('WORKER_013', {
    deliverables: ['wingman/tests/test_semantic_analyzer.py'],
    feedback: { kind: 'guide', markers: ['prose'] },
  });
  expect(await deps.store.readBlob((await preparePrompt(deps, retry)).promptRef)).not.toContain(
    '# Lessons from earlier workers',
  );
  const off = { ...deps, config: { ...deps.config, WINGMAN_LESSONS: 'off' as const } };
  expect(await deps.store.readBlob((await preparePrompt(off, fresh)).promptRef)).not.toContain(
    '# Lessons from earlier workers',
  );
  expect(await deps.store.readBlob((await preparePrompt(deps, fresh)).promptRef)).toContain(ASSERT_013);
});

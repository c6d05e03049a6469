// Regeneration with feedback and the attempt log, through the real CLI: a real dev server, the
// real openai SDK against the stand-in, real files, real pytest and the real criteria check.
// A criterion that is not met (an import that does not import) gets the same one regeneration,
// with the failure in the prompt, that failing tests get; the report says why each attempt
// failed and what changed.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { cliEnv, runCli } from '../support/cli.js';
import { writeInstructions, type InstructionSpec } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { startTestServer } from '../support/temporal.js';

let server: TestWorkflowEnvironment;
let llm: LlmStandIn;

beforeAll(async () => {
  server = await startTestServer();
  llm = await startLlmStandIn();
});
afterAll(async () => {
  await llm?.close();
  await server?.teardown();
});

const file = (id: string) => `wingman/regen/w${id.slice(7)}.py`;
const mod = (id: string) => `regen.w${id.slice(7)}`;

describe('regenerations and the attempt log', () => {
  let report: Report;
  let exitCode: number;
  let output: string;
  const worker = (id: string) => report.workers.find((w) => w.id === id)!;
  const prompts = (id: string) => llm.callsFor(id).map((c) => c.prompt);

  beforeAll(async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-regen-'));
    const workspace = path.join(root, 'workspace');
    mkdirSync(path.join(workspace, 'wingman'), { recursive: true });
    const testOf = (id: string) => `wingman/tests/test_w${id.slice(7)}.py`;
    const specs: InstructionSpec[] = [
      { id: 'WORKER_731', files: [file('WORKER_731')], criteria: [`\`from ${mod('WORKER_731')} import make\` works`] },
      { id: 'WORKER_732', files: [file('WORKER_732')], criteria: [`\`from ${mod('WORKER_732')} import make\` works`] },
      {
        id: 'WORKER_733',
        files: [file('WORKER_733'), testOf('WORKER_733')],
        test: `pytest ${testOf('WORKER_733').slice('wingman/'.length)}`,
      },
      { id: 'WORKER_734', files: [file('WORKER_734')] },
    ];
    // 731: the first answer lacks `make`; the regeneration gets the import error and adds it.
    llm.script('WORKER_731', [
      { code: 'def other():\n    return 0\n' },
      (c) => ({
        code: c.prompt.includes("cannot import name 'make'")
          ? 'def make():\n    return 731\n'
          : 'def other():\n    return 0\n',
      }),
    ]);
    // 732: never gets it right.
    llm.script('WORKER_732', [{ code: 'def other():\n    return 0\n' }]);
    // 733: a failing assertion, then the fix.
    const check =
      `from ${mod('WORKER_733')} import value\n\n\n` + 'def test_value():\n    assert value() == 2, "VALUE_MARKER"\n';
    const answer = (n: number) => ({
      files: { [file('WORKER_733')]: `def value():\n    return ${n}\n`, [testOf('WORKER_733')]: check },
    });
    llm.script('WORKER_733', [answer(1), answer(2)]);
    // 734: a guide, then code.
    llm.script('WORKER_734', [
      { guide: 'Step 1: open the file.\nStep 2: you should write a function.\nTODO' },
      { code: 'def value():\n    return 734\n' },
    ]);

    const workers = path.join(root, 'workers');
    writeInstructions(workers, specs);
    const batchId = `regen-${Date.now()}`;
    const r = await runCli(
      'starter',
      ['--workers', workers, '--workspace', workspace, '--python-root', 'wingman', '--batch-id', batchId],
      {
        cwd: root,
        env: cliEnv({
          TEMPORAL_ADDRESS: server.address,
          OPENAI_API_KEY: 'sk-test-regen-not-a-real-key',
          OPENAI_BASE_URL: llm.openaiBaseUrl,
          WINGMAN_STATE_DIR: path.join(root, 'state'),
          WINGMAN_LLM_RETRY_INITIAL_MS: '100',
        }),
      },
    );
    exitCode = r.exitCode;
    output = `${r.stdout}\n${r.stderr}`.slice(-4000);
    report = JSON.parse(readFileSync(path.join(root, 'results', batchId, 'report.json'), 'utf8')) as Report;
  }, 300_000);

  test('the batch ends with one failure (exit 1)', () => {
    expect({ exitCode, output }).toMatchObject({ exitCode: 1 });
    expect(report.counts).toEqual({ passed: 3, failed: 1, guide: 0, llm_timeout: 0, error: 0, skipped: 0 });
  });

  test('an import that does not import is regenerated once with the import error in the prompt, then passes', () => {
    const w = worker('WORKER_731');
    expect(w).toMatchObject({ outcome: 'passed', attempts: 2, error: null });
    const [first, second] = prompts('WORKER_731');
    expect(first).not.toMatch(/success criteria/);
    expect(second).toMatch(/passed its tests but not its success criteria/);
    expect(second).toContain(`from ${mod('WORKER_731')} import make`);
    expect(second).toContain("ImportError: cannot import name 'make'");
    expect(w.failures).toEqual([
      { attempt: 1, kind: 'criteria', message: expect.stringContaining("cannot import name 'make'") },
    ]);
    expect(w.changes).toBe('regenerated with the unmet success criteria; tests passed and criteria met');
  });

  test('a criterion still unmet after its regeneration ends failed after two generations', () => {
    const w = worker('WORKER_732');
    expect(w).toMatchObject({ outcome: 'failed', attempts: 2, changes: null });
    expect(w.error).toMatch(/^success criteria not met: .*import make/);
    expect(w.failures.map((f) => [f.attempt, f.kind])).toEqual([
      [1, 'criteria'],
      [2, 'criteria'],
    ]);
    expect(llm.callsFor('WORKER_732')).toHaveLength(2);
  });

  test('a failing test: the log keeps the assertion message, and what changed', () => {
    const w = worker('WORKER_733');
    expect(w).toMatchObject({ outcome: 'passed', attempts: 2, tests: { passed: 1, failed: 0 } });
    expect(w.failures).toEqual([{ attempt: 1, kind: 'tests', message: expect.stringContaining('VALUE_MARKER') }]);
    expect(w.changes).toBe('regenerated with the test failure; tests passed');
    expect(prompts('WORKER_733')[1]).toMatch(/failed its tests/);
  });

  test('a guide: the log keeps the markers, and what changed', () => {
    const w = worker('WORKER_734');
    expect(w).toMatchObject({ outcome: 'passed', attempts: 2 });
    expect(w.failures).toEqual([
      { attempt: 1, kind: 'guide', message: expect.stringMatching(/^a guide, not code: .+/) },
    ]);
    expect(w.changes).toBe('regenerated with a firmer prompt quoting the guide markers; tests passed');
  });
});

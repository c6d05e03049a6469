// The whole batch through the real CLI: a real dev server, the real `openai` SDK and undici
// against a local stand-in that speaks their wire formats, real files and real pytest.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { cliEnv, runCli } from '../support/cli.js';
import { writeInstructions } from '../support/instructions.js';
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

function setup() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-e2e-'));
  const workspace = path.join(root, 'workspace');
  mkdirSync(path.join(workspace, 'wingman'), { recursive: true });
  return { root, workspace, workers: path.join(root, 'workers'), state: path.join(root, 'state') };
}

function env(dirs: { state: string }, extra: Record<string, string | undefined> = {}) {
  return cliEnv({
    TEMPORAL_ADDRESS: server.address,
    OPENAI_API_KEY: 'sk-test-e2e-not-a-real-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    OPENAI_MODEL: 'gpt-4o-mini',
    OLLAMA_HOST: llm.url,
    WINGMAN_STATE_DIR: dirs.state,
    WINGMAN_LLM_MAX_ATTEMPTS: '3',
    WINGMAN_LLM_RETRY_INITIAL_MS: '100',
    WINGMAN_LLM_RETRY_MAX_MS: '200',
    ...extra,
  });
}

const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report;
const worker = (report: Report, id: string) => report.workers.find((w) => w.id === id)!;

describe('a batch of scripted workers', () => {
  let report: Report;
  let exitCode: number;
  let output: string;
  let dirs: ReturnType<typeof setup>;

  beforeAll(async () => {
    dirs = setup();
    // A test the code of WORKER_022 must satisfy; its first answer gets it wrong.
    mkdirSync(path.join(dirs.workspace, 'wingman/tests'), { recursive: true });
    writeFileSync(
      path.join(dirs.workspace, 'wingman/tests/test_pricing.py'),
      'from shop.pricing import total\n\n\ndef test_total_adds_tax():\n' +
        '    assert total(100) == 120, "PRICING_TAX_MARKER: total must add 20% tax"\n',
    );
    writeInstructions(dirs.workers, [
      { id: 'WORKER_020', files: ['wingman/shop/guided.py'] },
      { id: 'WORKER_021', files: ['wingman/shop/flaky.py'] },
      { id: 'WORKER_022', files: ['wingman/shop/pricing.py'], test: 'pytest tests/test_pricing.py -v' },
      { id: 'WORKER_023', files: ['wingman/shop/local.py'], llm: 'ollama' },
      { id: 'WORKER_024', files: ['wingman/shop/prose.py'] },
      { id: 'WORKER_025', files: ['wingman/shop/broken.py'], test: 'pytest tests/test_broken.py -v' },
      { id: 'WORKER_026', files: ['wingman/shop/after_broken.py'], dependsOn: ['WORKER_025'] },
      { id: 'WORKER_027', files: ['wingman/shop/after_after.py'], dependsOn: ['WORKER_026'] },
    ]);
    writeFileSync(
      path.join(dirs.workspace, 'wingman/tests/test_broken.py'),
      'from shop.broken import value\n\n\ndef test_value():\n    assert value() == 2\n',
    );
    const guide =
      'Step 1: Create the file.\nStep 2: You should add a function.\nHere is how you could do it:\n' +
      '```python\ndef f():\n    pass  # TODO\n```\nTODO: finish this.';
    llm.script('WORKER_020', [{ guide }, { code: 'def guided() -> int:\n    return 1\n' }]);
    llm.script('WORKER_021', [{ status: 500 }, { status: 500 }, { code: 'def flaky() -> int:\n    return 2\n' }]);
    llm.script('WORKER_022', [
      { code: 'def total(amount: float) -> float:\n    return amount\n' },
      (call) =>
        call.prompt.includes('PRICING_TAX_MARKER')
          ? { code: 'def total(amount: float) -> float:\n    return amount * 1.2\n' }
          : { code: 'def total(amount: float) -> float:\n    return amount\n' },
    ]);
    llm.script('WORKER_023', [{ status: 503 }], { provider: 'ollama' });
    llm.script('WORKER_023', [{ code: 'def local() -> str:\n    return "from openai"\n' }], { provider: 'openai' });
    llm.script('WORKER_024', [{ guide }]);
    llm.script('WORKER_025', [{ code: 'def value() -> int:\n    return 1\n' }]);
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
        `scenarios-${Date.now()}`,
        '--report',
        path.join(dirs.root, 'report.json'),
      ],
      { cwd: dirs.root, env: env(dirs) },
    );
    exitCode = r.exitCode;
    output = `${r.stdout}\n${r.stderr}`;
    report = readReport(path.join(dirs.root, 'report.json'));
  }, 300_000);

  test('exits 1 (finished, not all passed) and reports every worker once', () => {
    expect({ exitCode, output }).toMatchObject({ exitCode: 1 });
    expect(report.status).toBe('completed');
    expect(report.workers.map((w) => w.id).sort()).toEqual([
      'WORKER_020',
      'WORKER_021',
      'WORKER_022',
      'WORKER_023',
      'WORKER_024',
      'WORKER_025',
      'WORKER_026',
      'WORKER_027',
    ]);
    expect(report.counts).toEqual({ passed: 4, failed: 1, guide: 1, llm_timeout: 0, error: 0, skipped: 2 });
  });

  test('a guide is regenerated with a firmer prompt that quotes what was wrong', () => {
    expect(worker(report, 'WORKER_020')).toMatchObject({ outcome: 'passed', attempts: 2, provider: 'openai' });
    const prompts = llm.callsFor('WORKER_020').map((c) => c.prompt);
    expect(prompts).toHaveLength(2);
    expect(prompts[1]).toMatch(/guide/i);
    expect(prompts[1]).toMatch(/Step (1|N):/);
    expect(prompts[1]).toContain('you should');
    expect(prompts[0]).not.toMatch(/previous answer was a guide/);
    expect(readFileSync(path.join(dirs.workspace, 'wingman/shop/guided.py'), 'utf8')).toContain('def guided()');
  });

  test('two 500s are retried by the activity policy, then the code is used', () => {
    expect(worker(report, 'WORKER_021')).toMatchObject({ outcome: 'passed', provider: 'openai', attempts: 1 });
    expect(llm.callsFor('WORKER_021').map((c) => c.status)).toEqual([500, 500, 200]);
  });

  test('failing tests are regenerated once, with the failure output in the prompt', () => {
    expect(worker(report, 'WORKER_022')).toMatchObject({ outcome: 'passed', tests: { passed: 1, failed: 0 } });
    const prompts = llm.callsFor('WORKER_022').map((c) => c.prompt);
    expect(prompts).toHaveLength(2);
    expect(prompts[0]).not.toContain('PRICING_TAX_MARKER');
    expect(prompts[1]).toContain('PRICING_TAX_MARKER');
    expect(readFileSync(path.join(dirs.workspace, 'wingman/shop/pricing.py'), 'utf8')).toContain('* 1.2');
  });

  test('Ollama answering 503 falls back to OpenAI', () => {
    expect(worker(report, 'WORKER_023')).toMatchObject({ outcome: 'passed', provider: 'openai' });
    const calls = llm.callsFor('WORKER_023');
    expect(calls.filter((c) => c.provider === 'ollama').map((c) => c.status)).toEqual([503, 503, 503]);
    expect(calls.filter((c) => c.provider === 'openai').map((c) => c.status)).toEqual([200]);
  });

  test('a worker that only writes guides ends guide, and nothing is written', () => {
    expect(worker(report, 'WORKER_024')).toMatchObject({ outcome: 'guide', files: [] });
    expect(llm.callsFor('WORKER_024')).toHaveLength(2);
    expect(existsSync(path.join(dirs.workspace, 'wingman/shop/prose.py'))).toBe(false);
  });

  test('tests that never pass end failed; its dependents are skipped without an LLM call', () => {
    expect(worker(report, 'WORKER_025')).toMatchObject({ outcome: 'failed', tests: { passed: 0, failed: 1 } });
    expect(worker(report, 'WORKER_026')).toMatchObject({ outcome: 'skipped' });
    expect(worker(report, 'WORKER_026').error).toMatch(/WORKER_025/);
    expect(worker(report, 'WORKER_027')).toMatchObject({ outcome: 'skipped' });
    expect(llm.callsFor('WORKER_026')).toHaveLength(0);
  });

  test("a Markdown and an HTML report beside the JSON, with the failed worker's test output", () => {
    const md = readFileSync(path.join(dirs.root, 'report.md'), 'utf8');
    const html = readFileSync(path.join(dirs.root, 'report.html'), 'utf8');
    expect(md).toContain('WORKER_025');
    expect(html).toContain('<svg');
    // The failing assertion from pytest's output, for the worker that ended failed.
    expect(html).toMatch(/assert 1 == 2|AssertionError/);
  });

  test('cost and tokens add up from the responses', () => {
    const sum = report.workers.reduce((s, w) => s + w.costUsd, 0);
    expect(report.costUsd).toBeCloseTo(sum, 10);
    expect(report.costUsd).toBeGreaterThan(0);
    expect(report.tokens.prompt).toBe(report.workers.reduce((s, w) => s + w.tokens.prompt, 0));
  });
});

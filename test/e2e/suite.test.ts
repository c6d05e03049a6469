// The whole suite after the last worker, through the real CLI: a real dev server, the real
// openai SDK against the stand-in, real files and real pytest. Every worker passes its own test,
// but a later worker rewrites an earlier one's module and breaks its test: only the suite sees
// it, the batch exits 1, and the report names the workers behind the failing test.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { cliEnv, runCli, type CliResult } from '../support/cli.js';
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

describe('the whole suite at the end', () => {
  let root: string;
  let workspace: string;
  let workers: string;

  async function run(batchId: string, extra: string[]): Promise<{ r: CliResult; report: Report }> {
    const r = await runCli(
      'starter',
      ['--workers', workers, '--workspace', workspace, '--python-root', 'wingman', '--batch-id', batchId, ...extra],
      {
        cwd: root,
        env: cliEnv({
          TEMPORAL_ADDRESS: server.address,
          OPENAI_API_KEY: 'sk-test-suite-not-a-real-key',
          OPENAI_BASE_URL: llm.openaiBaseUrl,
          WINGMAN_STATE_DIR: path.join(root, 'state'),
        }),
      },
    );
    const report = JSON.parse(readFileSync(path.join(root, 'results', batchId, 'report.json'), 'utf8')) as Report;
    return { r, report };
  }

  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'wingman-suite-'));
    workspace = path.join(root, 'workspace');
    mkdirSync(path.join(workspace, 'wingman'), { recursive: true });
    workers = path.join(root, 'workers');
    writeInstructions(workers, [
      {
        id: 'WORKER_751',
        files: ['wingman/suite/base.py', 'wingman/tests/test_base.py'],
        test: 'pytest tests/test_base.py',
      },
      { id: 'WORKER_752', files: ['wingman/suite/base.py'], dependsOn: ['WORKER_751'] },
      {
        id: 'WORKER_753',
        files: ['wingman/suite/other.py', 'wingman/tests/test_other.py'],
        test: 'pytest tests/test_other.py',
      },
    ]);
    const base = (factor: number) => `def scale(x):\n    return x * ${factor}\n`;
    llm.script('WORKER_751', [
      {
        files: {
          'wingman/suite/base.py': base(2),
          'wingman/tests/test_base.py':
            'from suite.base import scale\n\n\ndef test_scale():\n    assert scale(2) == 4, "SCALE_MARKER"\n',
        },
      },
    ]);
    // Passes its own check (the file compiles) and breaks WORKER_751's test.
    llm.script('WORKER_752', [{ files: { 'wingman/suite/base.py': base(3) } }]);
    llm.script('WORKER_753', [
      {
        files: {
          'wingman/suite/other.py': 'def one():\n    return 1\n',
          'wingman/tests/test_other.py': 'from suite.other import one\n\n\ndef test_one():\n    assert one() == 1\n',
        },
      },
    ]);
  });

  test('every worker passed, the suite failed: exit 1, and the failure names the workers behind it', async () => {
    const batchId = `suite-${Date.now()}`;
    const { r, report } = await run(batchId, []);
    expect({ exitCode: r.exitCode, out: r.stdout.slice(-2000) }).toMatchObject({ exitCode: 1 });
    expect(report.counts).toEqual({ passed: 3, failed: 0, guide: 0, llm_timeout: 0, error: 0, skipped: 0 });
    expect(report.suite).toMatchObject({ command: 'pytest', passed: 1, failed: 1 });
    expect(report.suite!.exitCode).not.toBe(0);
    const [failure, ...more] = report.suite!.failures;
    expect(more).toEqual([]);
    expect(failure!.test).toMatch(/test_base/);
    expect(failure!.message).toMatch(/SCALE_MARKER/);
    expect([...failure!.workers].sort()).toEqual(['WORKER_751', 'WORKER_752']);
    // The terminal summary and the Markdown report show it too.
    expect(r.stdout).toMatch(/suite/i);
    const md = readFileSync(path.join(root, 'results', batchId, 'report.md'), 'utf8');
    expect(md).toMatch(/suite/i);
    expect(md).toContain('WORKER_752');
  }, 300_000);

  test('--no-suite skips it: every worker passed, exit 0, no suite in the report', async () => {
    const { r, report } = await run(`nosuite-${Date.now()}`, ['--no-suite']);
    expect({ exitCode: r.exitCode, out: r.stdout.slice(-2000) }).toMatchObject({ exitCode: 0 });
    expect(report.suite ?? null).toBeNull();
  }, 300_000);
});

// The original orchestrator's .env, through the real CLI on a real dev server: INTEL_LLM_ROUTER
// as a URL (down here: reported in one line, never blocking), the processor and OpenAI without
// Ollama, the original's temperature / max tokens settings on the wire, and local instructions
// that stay local, with the split by provider in the terminal and the reports.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { cliEnv, runCli, type CliResult } from '../support/cli.js';
import { freePort } from '../support/ports.js';
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

const code = (id: string) => `def value() -> str:\n    return ${JSON.stringify(id)}\n`;
const file = (id: string) => `wingman/original/w${id.slice(7)}.py`;

describe("the original's environment: router URL, processor, no Ollama", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-original-env-'));
  const workspace = path.join(root, 'workspace');
  const batchId = `original-env-${Date.now()}`;
  let result: CliResult;
  let report: Report;
  let routerUrl: string;

  beforeAll(async () => {
    mkdirSync(path.join(workspace, 'wingman'), { recursive: true });
    writeInstructions(path.join(root, 'workers'), [
      { id: 'WORKER_901', files: [file('WORKER_901')], llm: 'ollama' },
      { id: 'WORKER_902', files: [file('WORKER_902')], llm: 'openai' },
      { id: 'WORKER_903', files: [file('WORKER_903')], llm: 'ollama' },
    ]);
    llm.script('WORKER_901', [{ code: code('WORKER_901') }], { provider: 'processor' });
    llm.script('WORKER_902', [{ code: code('WORKER_902') }], { provider: 'openai' });
    // The processor answering in an OpenAI-like shape: read all the same.
    llm.script('WORKER_903', [{ code: code('WORKER_903'), shape: 'choices-message' }], { provider: 'processor' });
    routerUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens: the router is down
    result = await runCli(
      'starter',
      [
        '--workers',
        path.join(root, 'workers'),
        '--workspace',
        workspace,
        '--python-root',
        'wingman',
        '--batch-id',
        batchId,
      ],
      {
        cwd: root,
        env: cliEnv({
          TEMPORAL_ADDRESS: server.address,
          WINGMAN_STATE_DIR: path.join(root, 'state'),
          OPENAI_API_KEY: 'sk-test-original-env-not-a-real-key',
          OPENAI_BASE_URL: llm.openaiBaseUrl,
          INTEL_LLM_PROCESSOR: llm.url,
          INTEL_LLM_ROUTER: routerUrl,
          WINGMAN_LLM_TEMPERATURE: '0.3',
          WINGMAN_LLM_MAX_TOKENS: '2048',
        }),
      },
    );
    const reportFile = path.join(root, 'results', batchId, 'report.json');
    // Before the fix the CLI refused the URL (exit 3) and wrote no report: the first test says so.
    if (existsSync(reportFile)) report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  }, 300_000);

  test('INTEL_LLM_ROUTER as a URL is accepted: the batch runs and every worker passes (exit 0)', () => {
    expect({ code: result.exitCode, out: `${result.stdout}\n${result.stderr}`.slice(-3000) }).toMatchObject({
      code: 0,
    });
    expect(report.counts.passed).toBe(3);
  });

  test('the router being down is one line at start, and does not block', () => {
    const lines = result.stdout.split('\n').filter((l) => l.includes('INTEL_LLM_ROUTER'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^router INTEL_LLM_ROUTER down: ${routerUrl.replace(/\./g, '\\.')} did not answer.*not used for calls`,
      ),
    );
  });

  test('instructions marked LLM: ollama run on the processor, never on OpenAI; the OpenAI one on OpenAI', () => {
    const provider = (id: string) => report.workers.find((w) => w.id === id)!.provider;
    expect(['WORKER_901', 'WORKER_902', 'WORKER_903'].map(provider)).toEqual(['processor', 'openai', 'processor']);
    for (const id of ['WORKER_901', 'WORKER_903']) {
      expect(llm.callsFor(id).map((c) => [c.provider, c.status])).toEqual([['processor', 200]]);
      expect(readFileSync(path.join(workspace, file(id)), 'utf8')).toBe(code(id));
    }
    expect(llm.callsFor('WORKER_902').map((c) => [c.provider, c.status])).toEqual([['openai', 200]]);
  });

  test("the original's body with codellama:13b to the processor; temperature and max tokens to every provider", () => {
    const processor = llm.callsFor('WORKER_901')[0]!;
    expect(processor.keys).toEqual(expect.arrayContaining(['prompt', 'model', 'max_tokens']));
    expect(processor.model).toBe('codellama:13b');
    for (const id of ['WORKER_901', 'WORKER_902', 'WORKER_903']) {
      expect(llm.callsFor(id).map((c) => [c.temperature, c.maxTokens])).toEqual([[0.3, 2048]]);
    }
  });

  test('the split by provider: in the terminal summary and in report.md', () => {
    expect(result.stdout).toMatch(
      new RegExp(
        String.raw`By provider:\n\s+openai\s+1 workers \(33\.3%\), 1 passed, \$0\.\d{4}\n` +
          String.raw`\s+processor\s+2 workers \(66\.7%\), 2 passed, \$0\.0000`,
      ),
    );
    expect(result.stdout).toContain('local 2 of 3 workers with code (66.7%), paid 1 (33.3%)');
    const md = readFileSync(path.join(root, 'results', batchId, 'report.md'), 'utf8');
    expect(md).toMatch(/\| processor \| 2 \| 66\.7% \| 2 \|/);
    expect(md).toContain('Split: local 2 of 3 workers with code (66.7%), paid 1 (33.3%).');
  });
});

// Records the histories the replay test replays: a real batch on a real dev server, with the
// LLM stand-in scripted so every branch of the workflows runs (guide retry, 500s, test retry,
// criterion retry, fallback after an error and after a timeout, failed, skipped).
//
//   npm run record-histories            (or: npx tsx test/replay/record-histories.ts [NAME])
//
// writes test/fixtures/histories/NAME/ (default: local-steps, the current shape). It starts its
// own dev server on a free port and its own LLM stand-in; nothing else needs to run. Re-record
// (same NAME) when a workflow change is meant to be incompatible with running batches, and commit
// the new fixtures; otherwise guard the change with patched() and record the new shape under a
// new NAME next to the old ones, which must keep replaying (the replay test reads every folder).
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliEnv, repoRoot, runCli } from '../support/cli.js';
import { writeInstructions } from '../support/instructions.js';
import { startLlmStandIn } from '../support/llm-standin.js';
import { startTestServer, temporalCli } from '../support/temporal.js';
import { CURRENT_SHAPE } from './shapes.js';

export const HISTORIES = path.join(repoRoot, 'test/fixtures/histories');

async function main(name: string = CURRENT_SHAPE): Promise<void> {
  if (!/^[a-z0-9-]+$/.test(name))
    throw new Error('usage: record-histories.ts [NAME] (lower-case letters, digits and dashes)');
  const out = path.join(HISTORIES, name);
  const server = await startTestServer();
  const llm = await startLlmStandIn();
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-record-'));
  try {
    const workspace = path.join(root, 'workspace');
    mkdirSync(path.join(workspace, 'wingman/tests'), { recursive: true });
    writeFileSync(
      path.join(workspace, 'wingman/tests/test_calc.py'),
      'from calc.ops import double\n\n\ndef test_double():\n    assert double(2) == 4, "DOUBLE_MARKER"\n',
    );
    const workers = path.join(root, 'workers');
    writeInstructions(workers, [
      { id: 'WORKER_001', name: 'Clean pass', files: ['wingman/calc/base.py'] },
      { id: 'WORKER_002', name: 'Guide then code', files: ['wingman/calc/guided.py'], dependsOn: ['WORKER_001'] },
      { id: 'WORKER_003', name: 'Two 500s then code', files: ['wingman/calc/flaky.py'] },
      {
        id: 'WORKER_004',
        name: 'Tests fail then pass',
        files: ['wingman/calc/ops.py'],
        test: 'pytest tests/test_calc.py',
      },
      { id: 'WORKER_005', name: 'Ollama down, OpenAI answers', files: ['wingman/calc/local.py'], llm: 'ollama' },
      {
        id: 'WORKER_006',
        name: 'Never passes',
        files: ['wingman/calc/broken.py'],
        test: 'pytest tests/test_broken.py',
      },
      { id: 'WORKER_007', name: 'Depends on a failure', files: ['wingman/calc/after.py'], dependsOn: ['WORKER_006'] },
      {
        id: 'WORKER_008',
        name: 'Criterion unmet then met',
        files: ['wingman/calc/crit.py'],
        criteria: ['`from calc.crit import make` works'],
      },
      { id: 'WORKER_009', name: 'OpenAI hangs, Ollama answers', files: ['wingman/calc/slow.py'] },
    ]);
    writeFileSync(
      path.join(workspace, 'wingman/tests/test_broken.py'),
      'from calc.broken import one\n\n\ndef test_one():\n    assert one() == 2\n',
    );
    llm.script('WORKER_001', [{ code: 'BASE = 1\n' }]);
    llm.script('WORKER_002', [
      { guide: 'Step 1: open the file.\nStep 2: you should write a function.\nTODO' },
      { code: 'def guided():\n    return 2\n' },
    ]);
    llm.script('WORKER_003', [{ status: 500 }, { status: 500 }, { code: 'def flaky():\n    return 3\n' }]);
    llm.script('WORKER_004', [
      { code: 'def double(x):\n    return x\n' },
      (c) => ({
        code: c.prompt.includes('DOUBLE_MARKER')
          ? 'def double(x):\n    return 2 * x\n'
          : 'def double(x):\n    return x\n',
      }),
    ]);
    llm.script('WORKER_005', [{ status: 503 }], { provider: 'ollama' });
    llm.script('WORKER_005', [{ code: 'def local():\n    return 5\n' }], { provider: 'openai' });
    llm.script('WORKER_006', [{ code: 'def one():\n    return 1\n' }]);
    llm.script('WORKER_008', [
      { code: 'def other():\n    return 0\n' },
      (c) => ({ code: c.prompt.includes('not met') ? 'def make():\n    return 8\n' : 'def other():\n    return 0\n' }),
    ]);
    llm.script('WORKER_009', [{ hang: true }], { provider: 'openai' });
    llm.script('WORKER_009', [{ code: 'def slow():\n    return 9\n' }], { provider: 'ollama' });
    const batchId = 'recorded';
    const r = await runCli(
      'starter',
      [
        '--workers',
        workers,
        '--workspace',
        workspace,
        '--python-root',
        'wingman',
        '--batch-id',
        batchId,
        '--report',
        path.join(root, 'report.json'),
      ],
      {
        cwd: root,
        env: cliEnv({
          TEMPORAL_ADDRESS: server.address,
          OPENAI_API_KEY: 'sk-test-recording',
          OPENAI_BASE_URL: llm.openaiBaseUrl,
          OLLAMA_HOST: llm.url,
          WINGMAN_STATE_DIR: path.join(root, 'state'),
          WINGMAN_LLM_MAX_ATTEMPTS: '3',
          WINGMAN_LLM_RETRY_INITIAL_MS: '100',
          WINGMAN_LLM_TIMEOUT_MS: '3000',
        }),
      },
    );
    if (r.exitCode !== 1)
      throw new Error(`expected exit 1 (some not passed), got ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
    const report = JSON.parse(readFileSync(path.join(root, 'report.json'), 'utf8')) as {
      counts: Record<string, number>;
    };
    const expected = { passed: 7, failed: 1, guide: 0, llm_timeout: 0, error: 0, skipped: 1 };
    if (JSON.stringify(report.counts) !== JSON.stringify(expected))
      throw new Error(`expected counts ${JSON.stringify(expected)}, got ${JSON.stringify(report.counts)}`);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const ids = [`batch-${batchId}`];
    for await (const w of server.client.workflow.list({ query: `WingmanBatchId = "${batchId}"` }))
      if (!ids.includes(w.workflowId)) ids.push(w.workflowId);
    for (const id of ids) {
      // The CLI prints the proto3 JSON form that Worker.runReplayHistories reads back.
      const { stdout } = await execa(temporalCli(), [
        'workflow',
        'show',
        '--workflow-id',
        id,
        '--address',
        server.address,
        '--output',
        'json',
      ]);
      writeFileSync(path.join(out, `${id.replace(/[^A-Za-z0-9_-]+/g, '_')}.json`), `${stdout.trim()}\n`);
    }
    console.log(
      `recorded ${ids.length} histories (${JSON.stringify(report.counts)}) in ${path.relative(repoRoot, out)}`,
    );
  } finally {
    await llm.close();
    await server.teardown();
    rmSync(root, { recursive: true, force: true });
  }
}

main(process.argv[2]).catch((err) => {
  console.error(err);
  process.exit(1);
});

// The start-batch contract where nothing should start: refused input, no provider, --dry-run;
// and a user with no Temporal server, for whom start-batch starts a dev server itself.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliEnv, repoRoot, runCli } from '../support/cli.js';
import { corpusDir } from '../support/corpus.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { freePort } from '../support/ports.js';
import { writeInstructions } from '../support/instructions.js';

let llm: LlmStandIn;
beforeAll(async () => {
  llm = await startLlmStandIn();
});
afterAll(async () => {
  await llm?.close();
});

function dirs() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-cli-'));
  const workspace = path.join(root, 'workspace');
  mkdirSync(workspace);
  return { root, workspace };
}

const snapshot = (dir: string): string[] => readdirSync(dir, { recursive: true }).map(String).sort();

describe('input refused before anything starts (exit 3)', () => {
  const invalid = ['WORKER_900.md', 'WORKER_901.md', 'WORKER_902.md', 'WORKER_904.md'];
  test.each(invalid)('%s is refused with its name and the problem, nothing written', async (file) => {
    const { root, workspace } = dirs();
    const workers = path.join(root, 'workers');
    mkdirSync(workers);
    const corpus = corpusDir();
    writeFileSync(path.join(workers, file), readFileSync(path.join(corpus, 'invalid', file)));
    if (file === 'WORKER_902.md')
      writeFileSync(path.join(workers, 'WORKER_903.md'), readFileSync(path.join(corpus, 'invalid', 'WORKER_903.md')));
    const before = snapshot(root);
    const r = await runCli('starter', ['--workers', workers, '--workspace', workspace, '--python-root', 'wingman'], {
      cwd: root,
      // Pointing at a server that would be started proves nothing is: the address is never dialled.
      env: cliEnv({
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: llm.openaiBaseUrl,
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        WINGMAN_STATE_DIR: path.join(root, 'state'),
      }),
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain(file);
    const expected: Record<string, RegExp> = {
      'WORKER_900.md': /no file path/i,
      'WORKER_901.md': /leaves the workspace/,
      'WORKER_902.md': /cycle/,
      'WORKER_904.md': /WORKER_999/,
    };
    expect(r.stderr).toMatch(expected[file]!);
    if (file === 'WORKER_904.md') expect(r.stderr).toMatch(/;|curl/);
    expect(snapshot(root)).toEqual(before);
    expect(llm.calls).toHaveLength(0);
  });
});

test('no provider configured: says which variables to set, exit 3', async () => {
  const { root, workspace } = dirs();
  const r = await runCli(
    'starter',
    ['--workers', path.join(repoRoot, 'workers'), '--workspace', workspace, '--python-root', 'wingman'],
    {
      cwd: root,
      env: cliEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1' }),
    },
  );
  expect(r.exitCode).toBe(3);
  expect(r.stderr).toMatch(/OPENAI_API_KEY/);
  expect(r.stderr).toMatch(/OLLAMA_HOST/);
  expect(r.stderr).toMatch(/INTEL_LLM_PROCESSOR/);
});

test('a configured provider that does not answer counts as none', async () => {
  const { root, workspace } = dirs();
  const r = await runCli(
    'starter',
    ['--workers', path.join(repoRoot, 'workers'), '--workspace', workspace, '--python-root', 'wingman'],
    {
      cwd: root,
      env: cliEnv({ OLLAMA_HOST: '127.0.0.1', OLLAMA_PORT: String(await freePort()), TEMPORAL_ADDRESS: '127.0.0.1:1' }),
    },
  );
  expect(r.exitCode).toBe(3);
  expect(r.stderr).toMatch(/ollama unavailable/);
});

test('--dry-run prints the order, the provider per worker and the estimated cost, and calls no LLM', async () => {
  const { root, workspace } = dirs();
  const r = await runCli(
    'starter',
    ['--workers', path.join(repoRoot, 'workers'), '--workspace', workspace, '--python-root', 'wingman', '--dry-run'],
    {
      cwd: root,
      env: cliEnv({
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: llm.openaiBaseUrl,
        OLLAMA_HOST: llm.url,
        TEMPORAL_ADDRESS: '127.0.0.1:1',
      }),
    },
  );
  expect(r.exitCode).toBe(0);
  const order = [...r.stdout.matchAll(/^\s+\d+\. (WORKER_\d+)/gm)].map((m) => m[1]);
  expect(order).toEqual(['WORKER_001', 'WORKER_002', 'WORKER_013', 'WORKER_019', 'WORKER_034', 'WORKER_211']);
  expect(r.stdout).toMatch(/WORKER_019\s+ollama → openai/);
  expect(r.stdout).toMatch(/WORKER_001\s+openai → ollama\s+gpt-4o-mini/);
  expect(r.stdout).toMatch(/Estimated cost: ~\$\d+\.\d{4}/);
  expect(llm.calls).toHaveLength(0);
  expect(existsSync(path.join(workspace, 'wingman'))).toBe(false);
});

test('with no Temporal server answering, start-batch starts a dev server with SQLite under .temporal/', async () => {
  const { root, workspace } = dirs();
  llm.script('WORKER_019', [{ code: 'class CodeScanner:\n    def scan(self, source):\n        return []\n' }]);
  const port = await freePort();
  const r = await runCli(
    'starter',
    [
      '--workers',
      path.join(repoRoot, 'workers'),
      '--workspace',
      workspace,
      '--python-root',
      'wingman',
      '--only',
      'WORKER_019',
      '--batch-id',
      'own-server',
    ],
    {
      cwd: root,
      env: cliEnv({
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: llm.openaiBaseUrl,
        TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        WINGMAN_STATE_DIR: path.join(root, 'state'),
      }),
    },
  );
  expect({ code: r.exitCode, out: r.stdout + r.stderr }).toMatchObject({ code: 0 });
  expect(r.stdout).toMatch(/starting a local dev server/);
  expect(r.stdout).toContain(`http://127.0.0.1:${port + 1000}/namespaces/default/workflows/batch-own-server`);
  expect(existsSync(path.join(root, '.temporal', 'wingman.db'))).toBe(true);
});

describe('a newcomer on an empty directory', () => {
  test('a workspace path that exists and is not a directory is refused, exit 3', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-cli-'));
    const file = path.join(root, 'workspace');
    writeFileSync(file, 'not a directory');
    const r = await runCli(
      'starter',
      ['--workers', path.join(repoRoot, 'workers'), '--workspace', file, '--python-root', 'wingman'],
      {
        cwd: root,
        env: cliEnv({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: llm.openaiBaseUrl, TEMPORAL_ADDRESS: '127.0.0.1:1' }),
      },
    );
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/exists and is not a directory/);
    expect(readFileSync(file, 'utf8')).toBe('not a directory');
  });

  test('a 10-worker batch with retried 429s and 500s into a new workspace: a screenful of output', async () => {
    // The workspace does not exist yet: it is created. The terminal fits on a screen; the SDK warnings go to
    // worker.log.
    const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-cli-quiet-'));
    const workspace = path.join(root, 'not', 'yet', 'there');
    const workers = path.join(root, 'workers');
    const ids = Array.from({ length: 10 }, (_, i) => `WORKER_${601 + i}`);
    writeInstructions(
      workers,
      ids.map((id) => ({ id, files: [`wingman/quiet/w${id.slice(7)}.py`] })),
    );
    const code = (id: string) => `VALUE = ${Number(id.slice(7))}\n`;
    ids.forEach((id, i) => {
      // Four workers meet a provider in trouble first: rate limited, or a server error, retried by Temporal.
      const trouble = i % 3 === 0 ? [{ status: i % 2 ? 500 : 429, retryAfterMs: 100 }, { status: 500 }] : [];
      llm.script(id, [...trouble, { code: code(id) }]);
    });
    // The last worker never gets code: it ends badly, and the terminal says so in one line.
    llm.script('WORKER_610', [
      { guide: 'Step 1: Create the file.\nStep 2: You should add a function.\nTODO: finish this.' },
    ]);
    const batchId = 'quiet';
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
        '--max-guide-rate',
        '0.5',
      ],
      {
        cwd: root,
        env: cliEnv({
          OPENAI_API_KEY: 'sk-test',
          OPENAI_BASE_URL: llm.openaiBaseUrl,
          TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
          WINGMAN_STATE_DIR: path.join(root, 'state'),
          WINGMAN_LLM_RETRY_INITIAL_MS: '100',
          WINGMAN_LLM_RETRY_MAX_MS: '200',
        }),
      },
    );
    const out = `${r.stdout}${r.stderr}`;
    expect({ code: r.exitCode, out }).toMatchObject({ code: 1 });
    for (const id of ids.slice(0, 9))
      expect(readFileSync(path.join(workspace, 'wingman', 'quiet', `w${id.slice(7)}.py`), 'utf8')).toBe(code(id));

    const lines = out.split('\n').filter((l) => l.trim() !== '');
    expect({ fitsOnAScreen: lines.length <= 25, out }).toEqual({ fitsOnAScreen: true, out });
    expect(out).not.toMatch(/^\s+at /m); // no stack trace
    expect(out).not.toMatch(/\[WARN\]|\[ERROR\]/);
    const logFile = path.join(root, 'results', batchId, 'worker.log');
    expect(out.split(logFile).length - 1).toBe(1); // its path, printed once
    expect(out).toMatch(/provider openai is failing \(.*(429|500)/);
    expect(out.match(/provider openai is failing/g)).toHaveLength(1);
    expect(out).toMatch(/WORKER_610 guide/);
    const log = readFileSync(logFile, 'utf8');
    expect(log).toMatch(/\[WARN\] Activity failed[^]*generateOpenAI/);
    expect(log).toMatch(/429|Rate limit/);
    expect(log).toMatch(/500|server had an error/);
  }, 300_000);
});

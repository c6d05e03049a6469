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
    if (file === 'WORKER_902.md') writeFileSync(path.join(workers, 'WORKER_903.md'), readFileSync(path.join(corpus, 'invalid', 'WORKER_903.md')));
    const before = snapshot(root);
    const r = await runCli('starter', ['--workers', workers, '--workspace', workspace, '--python-root', 'wingman'], {
      cwd: root,
      // Pointing at a server that would be started proves nothing is: the address is never dialled.
      env: cliEnv({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: llm.openaiBaseUrl, TEMPORAL_ADDRESS: '127.0.0.1:1', WINGMAN_STATE_DIR: path.join(root, 'state') }),
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
  const r = await runCli('starter', ['--workers', path.join(repoRoot, 'workers'), '--workspace', workspace, '--python-root', 'wingman'], {
    cwd: root,
    env: cliEnv({ TEMPORAL_ADDRESS: '127.0.0.1:1' }),
  });
  expect(r.exitCode).toBe(3);
  expect(r.stderr).toMatch(/OPENAI_API_KEY/);
  expect(r.stderr).toMatch(/OLLAMA_HOST/);
  expect(r.stderr).toMatch(/INTEL_LLM_PROCESSOR/);
});

test('a configured provider that does not answer counts as none', async () => {
  const { root, workspace } = dirs();
  const r = await runCli('starter', ['--workers', path.join(repoRoot, 'workers'), '--workspace', workspace, '--python-root', 'wingman'], {
    cwd: root,
    env: cliEnv({ OLLAMA_HOST: '127.0.0.1', OLLAMA_PORT: String(await freePort()), TEMPORAL_ADDRESS: '127.0.0.1:1' }),
  });
  expect(r.exitCode).toBe(3);
  expect(r.stderr).toMatch(/ollama unavailable/);
});

test('--dry-run prints the order, the provider per worker and the estimated cost, and calls no LLM', async () => {
  const { root, workspace } = dirs();
  const r = await runCli('starter', ['--workers', path.join(repoRoot, 'workers'), '--workspace', workspace, '--python-root', 'wingman', '--dry-run'], {
    cwd: root,
    env: cliEnv({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: llm.openaiBaseUrl, OLLAMA_HOST: llm.url, TEMPORAL_ADDRESS: '127.0.0.1:1' }),
  });
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
  const r = await runCli('starter', ['--workers', path.join(repoRoot, 'workers'), '--workspace', workspace, '--python-root', 'wingman', '--only', 'WORKER_019', '--batch-id', 'own-server'], {
    cwd: root,
    env: cliEnv({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: llm.openaiBaseUrl, TEMPORAL_ADDRESS: `127.0.0.1:${port}`, WINGMAN_STATE_DIR: path.join(root, 'state') }),
  });
  expect({ code: r.exitCode, out: r.stdout + r.stderr }).toMatchObject({ code: 0 });
  expect(r.stdout).toMatch(/starting a local dev server/);
  expect(r.stdout).toContain(`http://127.0.0.1:${port + 1000}/namespaces/default/workflows/batch-own-server`);
  expect(existsSync(path.join(root, '.temporal', 'wingman.db'))).toBe(true);
});


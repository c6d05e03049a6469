// The long-lived Python reader: one process for many requests, and a dead, hung or missing
// interpreter turns into an error for the calls it owed and a fresh process for the next ones.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PythonReader } from '../../../../src/activities/process/python-reader.js';
import { realPython } from '../../../../src/activities/process/python.js';
import { waitFor } from '../../../support/wait.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
const root = fileURLToPath(new URL('../../../../', import.meta.url));
let dir: string;
let python: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'wingman-reader-'));
  python = await realPython('python3');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('one process answers many concurrent requests, each with its own answer', async () => {
  const reader = new PythonReader(python, env);
  try {
    const sources = Array.from({ length: 40 }, (_, i) => ({
      [`m${i}.py`]: i % 2 ? `def f${i}():\n    return ${i}\n` : `def f${i}(:\n`,
    }));
    const first = await reader.call<Record<string, { error: string | null }>>('check', [
      { name: 'a.py', source: 'x = 1\n' },
    ]);
    expect(first['a.py']).toEqual({ error: null, placeholders: [] });
    const pid = reader.pid;
    const answers = await Promise.all(
      sources.map((s) =>
        reader.call<Record<string, { error: string | null }>>(
          'check',
          Object.entries(s).map(([name, source]) => ({ name, source })),
        ),
      ),
    );
    answers.forEach((a, i) => {
      const r = a[`m${i}.py`];
      if (i % 2) expect(r?.error).toBeNull();
      else expect(r?.error).toMatch(/^line 1: /);
    });
    expect(reader.pid).toBe(pid);
  } finally {
    reader.close();
  }
});

test('an error inside the reader fails that call only', async () => {
  const reader = new PythonReader(python, env);
  try {
    await expect(reader.call('names', 42)).rejects.toThrow(/python reader: TypeError/);
    const pid = reader.pid;
    await expect(reader.call('names', [path.join(dir, 'missing.py')])).resolves.toMatchObject({
      [path.join(dir, 'missing.py')]: { error: expect.stringMatching(/FileNotFoundError/) },
    });
    expect(reader.pid).toBe(pid);
  } finally {
    reader.close();
  }
});

test('a killed reader fails the calls it owed, and the next call starts a new one', async () => {
  const reader = new PythonReader(python, env);
  try {
    await reader.call('check', []);
    const pid = reader.pid!;
    // A request that keeps the reader busy long enough to be killed in the middle of it.
    const busy = reader.call('check', [{ name: 'big.py', source: 'x = [1]\n'.repeat(400_000) }]);
    process.kill(pid, 'SIGKILL');
    await expect(busy).rejects.toThrow(/python reader exited \(SIGKILL\)/);
    await expect(reader.call('check', [{ name: 'a.py', source: 'x = 1\n' }])).resolves.toEqual({
      'a.py': { error: null, placeholders: [] },
    });
    expect(reader.pid).not.toBe(pid);
  } finally {
    reader.close();
  }
});

test('a reader that hangs is killed after the timeout', async () => {
  const stuck = path.join(dir, 'stuck-python');
  await writeFile(stuck, '#!/bin/sh\nexec sleep 600\n');
  await chmod(stuck, 0o755);
  const reader = new PythonReader(stuck, env, 300);
  const answer = reader.call('check', [{ name: 'a.py', source: 'x = 1\n' }]).catch((e: Error) => e);
  const pid = reader.pid!;
  expect(String(await answer)).toMatch(/gave no answer to check in 300 ms/);
  expect(reader.pid).toBeUndefined();
  await waitFor(() => !alive(pid), { timeoutMs: 10_000, what: `pid ${pid} to end` });
});

/** Alive and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

test('a missing interpreter is a clear error', async () => {
  const reader = new PythonReader(path.join(dir, 'no-such-python'), env);
  await expect(reader.call('check', [{ name: 'a.py', source: 'x = 1\n' }])).rejects.toThrow(
    /python reader could not start \(spawn .*ENOENT\)/,
  );
});

test('an idle reader does not keep the process alive', async () => {
  const script = `
    import { PythonReader } from './src/activities/process/python-reader.ts';
    const r = new PythonReader(process.argv.at(-1), { PATH: process.env.PATH });
    console.log(JSON.stringify(await r.call('check', [{ name: 'a.py', source: 'x = 1\\n' }])));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script, python],
    { cwd: root, timeout: 30_000 },
  );
  expect(JSON.parse(stdout)).toEqual({ 'a.py': { error: null, placeholders: [] } });
});

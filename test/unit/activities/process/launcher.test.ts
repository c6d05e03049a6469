// The launcher process that starts test commands for the worker: many runs at once, a killed
// launcher fails only what it owed, and nothing it started outlives the worker.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Launcher } from '../../../../src/activities/process/launcher.js';
import type { RunOptions } from '../../../../src/activities/process/process-run.js';
import { waitFor } from '../../../support/wait.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
let dir: string;
const opts = (over: Partial<RunOptions> = {}): RunOptions => ({
  cwd: dir,
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  timeoutMs: 30_000,
  outputCap: 100_000,
  ...over,
});

/** Alive and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'wingman-launcher-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('one launcher runs many commands at once, each with its own result and environment', async () => {
  const launcher = new Launcher();
  try {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        launcher.run(
          ['sh', '-c', 'echo "$N:$SECRET"; exit $((N % 3))'],
          opts({ env: { PATH: process.env.PATH!, N: String(i) } }),
        ),
      ),
    );
    results.forEach((r, i) =>
      expect(r).toMatchObject({ exitCode: i % 3, output: `${i}:\n`, timedOut: false, capped: false }),
    );
    const missing = await launcher.run(['no-such-program-here'], opts());
    expect(missing.exitCode).toBeNull();
    expect(missing.spawnError).toMatch(/ENOENT/);
  } finally {
    launcher.close();
  }
});

test('aborting a run kills its process group', async () => {
  const launcher = new Launcher();
  try {
    const pidFile = path.join(dir, 'abort.pid');
    const abort = new AbortController();
    const run = launcher.run(['sh', '-c', `sleep 600 & echo $! > ${pidFile}; wait`], opts(), abort.signal);
    const pid = await waitFor(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0), {
      timeoutMs: 10_000,
      what: 'the sleeper',
    });
    abort.abort();
    expect((await run).exitCode).toBeNull();
    await waitFor(() => !alive(pid), { timeoutMs: 10_000, what: 'the sleeper to be killed' });
  } finally {
    launcher.close();
  }
});

test('a run whose signal is already aborted is killed at once', async () => {
  const launcher = new Launcher();
  try {
    // Left alone, sleep would exit 0 after 30 s.
    const r = await launcher.run(['sleep', '30'], opts(), AbortSignal.abort());
    expect(r).toMatchObject({ exitCode: null, timedOut: false });
  } finally {
    launcher.close();
  }
});

test('a killed launcher fails the runs it owed, and the next run starts a new one', async () => {
  const launcher = new Launcher();
  try {
    await launcher.run(['true'], opts());
    const pid = launcher.pid!;
    const owed = launcher.run(['sleep', '5'], opts()); // orphaned by the kill: short, so it does not linger
    process.kill(pid, 'SIGKILL');
    await expect(owed).rejects.toThrow(/process launcher exited \(SIGKILL\)/);
    await expect(launcher.run(['echo', 'again'], opts())).resolves.toMatchObject({ exitCode: 0, output: 'again\n' });
    expect(launcher.pid).not.toBe(pid);
  } finally {
    launcher.close();
  }
});

// The worker, in a process of its own: runs a sleeper through the launcher and reports its pid.
const WORKER = `
  import { Launcher } from './src/activities/process/launcher.ts';
  const [pidFile, mode] = process.argv.slice(-2);
  const launcher = new Launcher();
  const command = mode === 'idle' ? 'echo done' : 'sleep 600 & echo $! > ' + pidFile + '; wait';
  const r = await launcher.run(['sh', '-c', command], {
    cwd: process.cwd(), env: { PATH: process.env.PATH }, timeoutMs: 600000, outputCap: 1000,
  });
  console.log(JSON.stringify(r));
`;

test('when the worker dies, the launcher kills what it started and exits', async () => {
  const pidFile = path.join(dir, 'orphan.pid');
  const worker = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WORKER, pidFile, 'busy'], {
    cwd: root,
    stdio: 'ignore',
  });
  try {
    const sleeper = await waitFor(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0), {
      timeoutMs: 30_000,
      what: 'the sleeper',
    });
    worker.kill('SIGKILL');
    await waitFor(() => !alive(sleeper), { timeoutMs: 10_000, what: 'the sleeper to be killed' });
  } finally {
    worker.kill('SIGKILL');
  }
});

test('an idle launcher does not keep the worker alive', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', WORKER, 'unused', 'idle'],
    { cwd: root, timeout: 30_000 },
  );
  expect(JSON.parse(stdout)).toMatchObject({ exitCode: 0, output: 'done\n' });
});

// runTests with real python and pytest on generated files in a temp workspace.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ArtifactStore } from '../../../src/activities/artifacts.js';
import { readConfig } from '../../../src/config.js';
import { junitCounts, planCommand, runTests } from '../../../src/activities/tests.js';

let dir: string;
let workspace: string;
const store = () => new ArtifactStore(path.join(dir, 'state', 'artifacts'));
const depsWith = (env: Record<string, string> = {}) => ({
  config: readConfig({ WINGMAN_STATE_DIR: path.join(dir, 'state'), ...env }),
  store: store(),
});
const write = async (rel: string, text: string) => {
  await mkdir(path.dirname(path.join(workspace, rel)), { recursive: true });
  await writeFile(path.join(workspace, rel), text);
};
const req = (commands: string[][]) => ({ workerId: 'WORKER_013', workspace, pythonRoot: 'wingman', commands });

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tests-'));
  workspace = path.join(dir, 'ws');
  await write('wingman/validation/__init__.py', '');
  await write('wingman/validation/calc.py', 'def add(a, b):\n    return a + b\n');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const TESTS = `from validation.calc import add

def test_one():
    assert add(1, 1) == 2

def test_two():
    assert add(2, 2) == 4

def test_three():
    assert add(0, 0) == 0

def test_wrong():
    assert add(2, 2) == 5
`;

test('pytest: counts from the JUnit XML, imports from the Python root, output stored', async () => {
  await write('wingman/tests/test_calc.py', TESTS);
  const deps = depsWith();
  const run = await runTests(deps, req([['pytest', 'tests/test_calc.py', '-v']]));
  expect(run).toMatchObject({ ok: false, passed: 3, failed: 1, timedOut: false });
  expect(run.summary).toMatch(/1 failed, 3 passed/);
  expect(run.summary).toMatch(/exit 1: tests failed; 4 tests, 3 passed, 1 failed/);
  const full = await deps.store.readBlob(run.outputRef);
  expect(full).toMatch(/^\$ pytest tests\/test_calc\.py -v\n/);
  expect(full).toMatch(/test_wrong FAILED/);
  // no cache, no bytecode left in the workspace
  expect(existsSync(path.join(workspace, 'wingman/.pytest_cache'))).toBe(false);
  expect(existsSync(path.join(workspace, 'wingman/tests/__pycache__'))).toBe(false);
});

test('python -m pytest, all passing', async () => {
  await write('wingman/tests/test_calc.py', TESTS.replace('== 5', '== 4'));
  const run = await runTests(depsWith(), req([['python', '-m', 'pytest', 'tests/test_calc.py', '-q']]));
  expect(run).toMatchObject({ ok: true, passed: 4, failed: 0, timedOut: false });
});

test('exit 5 (no tests collected) is not a pass; a collection error counts as a failure', async () => {
  await write('wingman/tests/test_empty.py', 'X = 1\n');
  await write('wingman/tests/test_broken.py', 'from validation.nope import X\n\ndef test_x():\n    assert X\n');
  const empty = await runTests(depsWith(), req([['pytest', 'tests/test_empty.py']]));
  expect(empty).toMatchObject({ ok: false, passed: 0, failed: 0 });
  expect(empty.summary).toMatch(/exit 5: no tests collected/);
  const broken = await runTests(depsWith(), req([['pytest', 'tests/test_broken.py']]));
  expect(broken).toMatchObject({ ok: false, passed: 0, failed: 1 });
  expect(broken.summary).toMatch(/exit 2: interrupted or collection error/);
});

test('a usage error is a failed run, not an infrastructure error', async () => {
  // An allowed option with a value pytest rejects (an unknown option is refused before the run).
  const run = await runTests(depsWith(), req([['pytest', '--tb=nonsense']]));
  expect(run).toMatchObject({ ok: false, passed: 0, failed: 1 });
  expect(run.summary).toMatch(/exit 4: pytest usage error/);
});

test('pytest that writes no JUnit XML is an infrastructure failure (retryable)', async () => {
  await write('wingman/conftest.py', 'import os\n\ndef pytest_sessionstart(session):\n    os._exit(0)\n');
  await write('wingman/tests/test_calc.py', TESTS);
  await expect(runTests(depsWith(), req([['pytest', 'tests/test_calc.py']]))).rejects.toMatchObject({
    type: 'TestInfrastructure',
    nonRetryable: false,
  });
});

test('py_compile and bash -n: one pass or one failure each', async () => {
  await write('wingman/validation/bad.py', 'def f(:\n');
  await write('deploy/ok.sh', '#!/usr/bin/env bash\nset -e\necho ok\n');
  await write('deploy/bad.sh', 'if true; then\n');
  const run = await runTests(
    depsWith(),
    req([
      ['python', '-m', 'py_compile', 'validation/calc.py'],
      ['python3', '-m', 'py_compile', 'validation/bad.py'],
      ['bash', '-n', '../deploy/ok.sh'],
      ['bash', '-n', '../deploy/bad.sh'],
    ]),
  );
  expect(run).toMatchObject({ ok: false, passed: 2, failed: 2 });
});

test('generated code sees a scrubbed environment: no API key, no token, nothing else of ours', async () => {
  const secrets = {
    OPENAI_API_KEY: 'sk-test-not-a-real-key',
    MEM0_API_KEY: 'm0-secret',
    GITHUB_TOKEN: 'ghp_fake',
    TEMPORAL_API_KEY: 'tmprl-fake',
  };
  const saved = { ...process.env };
  Object.assign(process.env, secrets);
  try {
    await write(
      'wingman/tests/test_env.py',
      'import json, os\n\ndef test_env():\n    print("ENV=" + json.dumps(dict(os.environ)))\n',
    );
    const deps = depsWith();
    const run = await runTests(deps, req([['pytest', 'tests/test_env.py', '-s']]));
    expect(run.ok).toBe(true);
    const line = (await deps.store.readBlob(run.outputRef)).split('\n').find((l) => l.includes('ENV={'));
    const env = JSON.parse(line!.slice(line!.indexOf('ENV=') + 4)) as Record<string, string>;
    // PWD is set by the sandbox's chdir (bwrap), and says nothing of ours.
    expect(
      Object.keys(env)
        .filter((k) => k !== 'PWD')
        .sort(),
    ).toEqual(
      // PYTEST_* are pytest's own
      [
        'HOME',
        'LANG',
        'PATH',
        'PYTEST_CURRENT_TEST',
        'PYTEST_VERSION',
        'PYTHONDONTWRITEBYTECODE',
        'PYTHONHASHSEED',
        'PYTHONPATH',
      ].sort(),
    );
    expect(env.PYTHONPATH).toBe(path.join(workspace, 'wingman'));
    expect(env.HOME).not.toBe(saved.HOME);
    expect(env.PYTHONHASHSEED).toBe('0');
    for (const v of Object.values(secrets)) expect(JSON.stringify(env)).not.toContain(v);
  } finally {
    for (const k of Object.keys(secrets)) if (!(k in saved)) delete process.env[k];
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // Killed but not reaped yet (no init reaping in a container): a zombie is dead.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Host pids of the live processes whose command line is exactly argv. Tests run in their own PID
 * namespace (the sandbox), so a pid they write down means nothing here: they are found by a
 * command line of their own instead (`sleep 1000.<random digits>`).
 */
function pidsOf(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8') === want && alive(Number(name))) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const marker = () => `1000.${Math.floor(Math.random() * 1e9)}`;

const SLEEPER = (seconds: string) => `import subprocess, time

def test_hangs():
    child = subprocess.Popen(["sleep", "${seconds}"])
    time.sleep(1000)
`;

async function started(argv: string[]): Promise<number> {
  for (let i = 0; i < 200 && pidsOf(argv).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  const [pid] = pidsOf(argv);
  if (pid === undefined) throw new Error(`${argv.join(' ')} never started`);
  return pid;
}

test('a test that hangs is killed at the time limit, with the child it forked', async () => {
  const seconds = marker();
  await write('wingman/tests/test_hang.py', SLEEPER(seconds));
  const t0 = Date.now();
  const running = runTests(
    depsWith({ WINGMAN_TEST_TIMEOUT_MS: '2500' }),
    req([
      ['pytest', 'tests/test_hang.py'],
      ['python', '-m', 'py_compile', 'validation/calc.py'],
    ]),
  );
  const pid = await started(['sleep', seconds]);
  const run = await running;
  const took = Date.now() - t0;
  expect(run).toMatchObject({ ok: false, timedOut: true, passed: 0 });
  expect(run.failed).toBe(2); // the killed pytest, and the command the time limit left no room for
  expect(run.summary).toMatch(/killed \(with its process group\) after the time limit of 2500 ms/);
  expect(took).toBeGreaterThanOrEqual(2500);
  expect(took).toBeLessThan(6000);
  await new Promise((r) => setTimeout(r, 200));
  expect(alive(pid)).toBe(false);
});

test('cancelling the activity kills the process group', async () => {
  const seconds = marker();
  await write('wingman/tests/test_hang.py', SLEEPER(seconds));
  const env = new MockActivityEnvironment();
  const deps = depsWith({ WINGMAN_TEST_TIMEOUT_MS: '60000' });
  const t0 = Date.now();
  const running = env.run(runTests, deps, req([['pytest', 'tests/test_hang.py']]));
  const pid = await started(['sleep', seconds]);
  env.cancel();
  await expect(running).rejects.toBeInstanceOf(CancelledFailure);
  expect(Date.now() - t0).toBeLessThan(10_000);
  await new Promise((r) => setTimeout(r, 200));
  expect(alive(pid)).toBe(false);
});

test('a process that leaves the group but holds the output pipe does not keep us waiting', async () => {
  const seconds = marker().replace(/^1000/, '30');
  await write(
    'wingman/tests/test_escape.py',
    `import subprocess\n\ndef test_escape():\n    subprocess.Popen(["sleep", "${seconds}"], start_new_session=True)\n`,
  );
  const t0 = Date.now();
  const run = await runTests(depsWith(), req([['pytest', 'tests/test_escape.py', '-s']]));
  expect(run).toMatchObject({ ok: true, passed: 1 });
  expect(Date.now() - t0).toBeLessThan(5000);
  // Out of our reach by design (setsid), unless the sandbox's PID namespace took it down: clean up here.
  for (const pid of pidsOf(['sleep', seconds])) process.kill(pid, 'SIGKILL');
});

test('output is capped; the command is stopped and fails', async () => {
  await write('wingman/tests/test_loud.py', 'def test_loud():\n    print("x" * 5_000_000)\n');
  const deps = depsWith({ WINGMAN_TEST_OUTPUT_CAP: '20000' });
  const run = await runTests(deps, req([['pytest', 'tests/test_loud.py', '-s']]));
  expect(run).toMatchObject({ ok: false, failed: 1 });
  const full = await deps.store.readBlob(run.outputRef);
  expect(full.length).toBeLessThan(21_000);
  expect(full).toMatch(/output cap of 20000 reached/);
});

test('a command that is not an allowed runner is refused, not run', async () => {
  await expect(runTests(depsWith(), req([['python', '-c', 'open("/tmp/pwned", "w")']]))).rejects.toMatchObject({
    type: 'CommandNotAllowed',
    nonRetryable: true,
  });
  await expect(runTests(depsWith(), req([['curl', 'http://example.com']]))).rejects.toMatchObject({
    type: 'CommandNotAllowed',
  });
  // Options are checked again here, not only in the manifest.
  await expect(runTests(depsWith(), req([['pytest', '--basetemp=/']]))).rejects.toMatchObject({
    type: 'CommandNotAllowed',
    message:
      'option `--basetemp=/` is not allowed in a test command: pytest empties that directory: pytest --basetemp=/',
  });
  const custom = await runTests(
    depsWith({ WINGMAN_ALLOWED_RUNNERS: 'python -c' }),
    req([['python', '-c', 'print(42)']]),
  );
  expect(custom).toMatchObject({ ok: true, passed: 1 });
});

test('planCommand and junitCounts', () => {
  expect(planCommand(['pytest', 'tests/t.py', '-v'], '/py', '/tmp/j.xml').argv).toEqual([
    '/py',
    '-m',
    'pytest',
    'tests/t.py',
    '-v',
    '--junitxml=/tmp/j.xml',
    '-p',
    'no:cacheprovider',
  ]);
  expect(planCommand(['python3', '-m', 'py_compile', 'a.py'], '/py', 'j').argv).toEqual([
    '/py',
    '-m',
    'py_compile',
    'a.py',
  ]);
  expect(planCommand(['bash', '-n', 'x.sh'], '/py', 'j')).toEqual({ pytest: false, argv: ['bash', '-n', 'x.sh'] });
  const xml =
    '<?xml version="1.0"?><testsuites name="pytest tests">' +
    '<testsuite name="pytest" errors="1" failures="2" skipped="1" tests="9" time="0.1"></testsuite>' +
    '<testsuite name="b" tests="2" failures="0" errors="0" skipped="0" /></testsuites>';
  expect(junitCounts(xml)).toEqual({ tests: 11, failures: 2, errors: 1, skipped: 1 });
  expect(junitCounts('<testsuites></testsuites>')).toBeNull();
});

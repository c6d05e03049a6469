// The sandbox: which isolation is chosen (and when it is refused), the bwrap command line, and real
// runs under bwrap and under the separate-uid fallback.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { Launcher } from '../../../../src/activities/process/launcher.js';
import {
  bwrapArgv,
  chooseIsolation,
  describeIsolation,
  detectIsolation,
  IsolationRefused,
  resetIsolation,
  runSandboxed,
  wrapCommand,
  type SandboxSpec,
} from '../../../../src/activities/process/sandbox.js';
import { readConfig } from '../../../../src/config.js';
import { ArtifactStore } from '../../../../src/activities/artifacts.js';
import { runTests } from '../../../../src/activities/tests.js';
import { waitFor } from '../../../support/wait.js';

/** A stand-in for a checkout outside /tmp, with a package.json, as a clone under /root or /work is. */
async function checkoutOutsideTmp(): Promise<string> {
  const dir = await mkdtemp(path.join('/var/tmp', 'wingman-checkout-'));
  await writeFile(path.join(dir, 'package.json'), '{"name": "secret-checkout"}\n');
  return dir;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sandbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
  delete process.env.WINGMAN_ISOLATION;
  resetIsolation();
});

const works = async () => null;
const fails = (why: string) => async () => why;
const never = async (): Promise<string | null> => {
  throw new Error('must not be probed');
};

describe('chooseIsolation', () => {
  test('auto: bwrap when it starts', async () => {
    expect(await chooseIsolation('auto', { bwrap: works, uid: never })).toMatchObject({ kind: 'bwrap' });
  });

  test('auto: a separate uid when bwrap cannot start, saying why and that the network is shared', async () => {
    const iso = await chooseIsolation('auto', { bwrap: fails('Operation not permitted'), uid: works });
    expect(iso.kind).toBe('uid');
    expect(iso.detail).toMatch(
      /^separate uid 65534; bwrap unavailable \(Operation not permitted\); network not isolated$/,
    );
  });

  test('auto: refused when neither starts, naming both reasons and the way out', async () => {
    const refused = chooseIsolation('auto', {
      bwrap: fails('no user namespaces'),
      uid: fails('the worker is not root'),
    });
    await expect(refused).rejects.toBeInstanceOf(IsolationRefused);
    await expect(refused).rejects.toThrow(
      new RegExp(
        String.raw`bwrap cannot start \(no user namespaces\) and no separate uid \(the worker is not root\)` +
          '.*WINGMAN_ISOLATION=none',
      ),
    );
  });

  test('bwrap: no fallback', async () => {
    await expect(chooseIsolation('bwrap', { bwrap: fails('not installed'), uid: never })).rejects.toThrow(
      'WINGMAN_ISOLATION=bwrap but bwrap cannot start: not installed',
    );
  });

  test('uid: bwrap is not tried', async () => {
    expect(await chooseIsolation('uid', { bwrap: never, uid: works })).toMatchObject({ kind: 'uid' });
    await expect(chooseIsolation('uid', { bwrap: never, uid: fails('not root') })).rejects.toBeInstanceOf(
      IsolationRefused,
    );
  });

  test('none: only when asked, and said loudly', async () => {
    const iso = await chooseIsolation('none', { bwrap: never, uid: never });
    expect(iso).toEqual({ kind: 'none', detail: 'WINGMAN_ISOLATION=none' });
    expect(describeIsolation(iso)).toBe('WARNING: generated code runs WITHOUT isolation (WINGMAN_ISOLATION=none)');
  });

  test('a bad WINGMAN_ISOLATION: refused by detectIsolation, by runTests as non-retryable NoIsolation', async () => {
    process.env.WINGMAN_ISOLATION = 'off';
    resetIsolation();
    await expect(detectIsolation()).rejects.toThrow('WINGMAN_ISOLATION must be auto, bwrap, uid or none (got "off")');
    const workspace = path.join(dir, 'ws');
    await mkdir(path.join(workspace, 'wingman'), { recursive: true });
    await writeFile(path.join(workspace, 'wingman', 'a.py'), 'x = 1\n');
    const deps = {
      config: readConfig({ WINGMAN_STATE_DIR: path.join(dir, 'state') }),
      store: new ArtifactStore(path.join(dir, 'state', 'artifacts')),
    };
    const run = runTests(deps, {
      workerId: 'WORKER_001',
      workspace,
      pythonRoot: 'wingman',
      commands: [['python', '-m', 'py_compile', 'a.py']],
    });
    await expect(run).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(run).rejects.toMatchObject({ type: 'NoIsolation', nonRetryable: true });
  });

  test('this machine: bwrap is detected (it is installed and may create namespaces)', async () => {
    expect(await detectIsolation()).toMatchObject({ kind: 'bwrap' });
  });
});

describe('bwrapArgv', () => {
  test('namespaces, read-only root, own /tmp, hidden dirs, empty env in, scrubbed env passed', async () => {
    // The hidden dirs are covered before what is bound back.
    const ws = path.join(dir, 'ws');
    const root = path.join(ws, 'wingman');
    const hiddenDir = path.join(dir, 'checkout');
    const venv = path.join(hiddenDir, '.venv');
    const envFile = path.join(dir, '.env');
    await mkdir(root, { recursive: true });
    await mkdir(venv, { recursive: true });
    await writeFile(envFile, 'OPENAI_API_KEY=x\n');
    const spec: SandboxSpec = {
      writable: [root],
      readable: [ws, venv, '/usr'],
      hidden: [hiddenDir, envFile, '/nonexistent/state', '/'],
      cwd: root,
    };
    const argv = bwrapArgv('/usr/bin/bwrap', ['python', '-m', 'pytest'], { PATH: '/usr/bin', HOME: '/h' }, spec, true);
    const sandboxDir = dir.startsWith('/tmp/');
    expect(argv.slice(0, 19)).toEqual([
      '/usr/bin/bwrap',
      '--unshare-pid',
      '--unshare-net',
      '--unshare-ipc',
      '--unshare-uts',
      '--die-with-parent',
      '--new-session',
      '--cap-drop',
      'ALL',
      '--ro-bind',
      '/',
      '/',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--tmpfs',
      '/tmp',
      ...(sandboxDir ? ['--ro-bind'] : ['--tmpfs']),
    ]);
    const mounts = argv.slice(18, argv.indexOf('--chdir')).join(' ');
    if (sandboxDir) {
      // Under /tmp (the sandbox's own tmpfs) nothing needs hiding; what is used is bound back, parents first.
      expect(mounts).toBe(`--ro-bind ${ws} ${ws} --ro-bind ${venv} ${venv} --bind ${root} ${root}`);
    } else {
      expect(mounts).toBe(
        `--tmpfs ${hiddenDir} --ro-bind /dev/null ${envFile} --ro-bind ${venv} ${venv} --bind ${root} ${root}`,
      );
    }
    expect(argv.slice(argv.indexOf('--chdir'))).toEqual([
      '--chdir',
      root,
      '--clearenv',
      '--setenv',
      'PATH',
      '/usr/bin',
      '--setenv',
      'HOME',
      '/h',
      '--',
      'python',
      '-m',
      'pytest',
    ]);
    // As another user bwrap has no capabilities to drop.
    expect(bwrapArgv('/usr/bin/bwrap', ['true'], {}, spec, false)).not.toContain('--cap-drop');
  });

  test('the checkout is hidden and a workspace inside it is bound back after it', async () => {
    const checkout = await checkoutOutsideTmp();
    try {
      const ws = path.join(checkout, 'no-such-workspace-for-the-test');
      const argv = bwrapArgv(
        '/usr/bin/bwrap',
        ['true'],
        {},
        { writable: [ws], readable: [], hidden: [checkout], cwd: ws },
        false,
      );
      const line = argv.join(' ');
      expect(line).toContain(`--tmpfs ${checkout} --bind ${ws} ${ws}`);
    } finally {
      await rm(checkout, { recursive: true, force: true });
    }
  });

  test('a checkout under /tmp needs no mount of its own: the sandbox has a fresh /tmp', () => {
    const checkout = path.join(tmpdir(), 'a-checkout');
    const argv = bwrapArgv(
      '/usr/bin/bwrap',
      ['true'],
      {},
      { writable: [], readable: [], hidden: [checkout], cwd: '/' },
      false,
    );
    expect(argv.join(' ')).toContain('--tmpfs /tmp');
    expect(argv).not.toContain(checkout);
  });

  test('bwrap itself starts from an empty environment (its PID 1 shows it in /proc/1/environ)', async () => {
    const w = await wrapCommand(
      { kind: 'bwrap', detail: '' },
      ['true'],
      { PATH: '/usr/bin', SECRET_LOOKING: 'x' },
      { writable: [], readable: [], hidden: [], cwd: '/' },
    );
    expect(w.env).toEqual({});
    expect(w.argv).toEqual(expect.arrayContaining(['--setenv', 'SECRET_LOOKING', 'x']));
  });
});

const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({
  writable: [dir],
  readable: [],
  hidden: [],
  cwd: dir,
  ...over,
});
const run = (argv: string[], env: Record<string, string> = { PATH: '/usr/bin:/bin' }, s = spec()) =>
  runSandboxed(argv, { cwd: dir, env, timeoutMs: 20_000, outputCap: 100_000 }, s);

describe('under bwrap (real runs)', () => {
  test('PID 1 is bwrap with an empty environment; the host processes are not there; the scrubbed env is', async () => {
    const r = await run(
      ['/bin/sh', '-c', 'tr "\\0" "\\n" < /proc/1/environ | wc -c; ls /proc | grep -c "^[0-9]"; echo "HOME=$HOME"'],
      { PATH: '/usr/bin:/bin', HOME: dir },
    );
    const [environBytes, processes, home] = r.output.trim().split('\n');
    expect(r.exitCode).toBe(0);
    expect(environBytes).toBe('0');
    expect(Number(processes)).toBeLessThanOrEqual(4); // bwrap, sh, ls, grep
    expect(home).toBe(`HOME=${dir}`);
  });

  test('only the writable dir takes writes; the rest of the system is read-only; /tmp is its own', async () => {
    const hostTmp = path.join('/tmp', `sandbox-test-${process.pid}-${Date.now()}`);
    const r = await run([
      '/bin/sh',
      '-c',
      `echo ok > ${dir}/in.txt && echo in; (echo x > /etc/wingman-x) 2>/dev/null || echo etc-refused; ` +
        `echo x > ${hostTmp} && echo tmp-own`,
    ]);
    expect(r.output.trim().split('\n')).toEqual(['in', 'etc-refused', 'tmp-own']);
    expect(readFileSync(path.join(dir, 'in.txt'), 'utf8')).toBe('ok\n');
    expect(readdirSync('/tmp')).not.toContain(path.basename(hostTmp));
  });

  test('hidden directories and files are empty inside', async () => {
    // A `.env` outside /tmp (the sandbox's /tmp is its own anyway), as in a checkout.
    const envFile = path.join('/var/tmp', `sandbox-test-${process.pid}.env`);
    await writeFile(envFile, 'OPENAI_API_KEY=sk-hidden\n');
    // This checkout may itself sit under /tmp (hidden by the fresh /tmp): hide one that does not.
    const checkout = await checkoutOutsideTmp();
    try {
      const r = await run(
        [
          '/bin/sh',
          '-c',
          `ls -A ${checkout} | wc -l; cat ${path.join(checkout, 'package.json')} 2>&1; cat ${envFile} 2>&1`,
        ],
        undefined,
        spec({ hidden: [checkout, envFile] }),
      );
      const [entries, pkg, env] = r.output.trim().split('\n');
      expect(entries).toBe('0');
      expect(pkg).toMatch(/No such file/);
      expect(env).toMatch(/^(cat: .*: Permission denied)?$/); // /dev/null bound over it
      expect(r.output).not.toContain('sk-hidden');
    } finally {
      await rm(envFile, { force: true });
      await rm(checkout, { recursive: true, force: true });
    }
  });

  test('loopback is up: a server on 127.0.0.1 inside answers a client inside', async () => {
    const py = [
      'import socket, threading',
      's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)',
      'def echo():',
      '    c, _ = s.accept(); c.sendall(c.recv(4)); c.close()',
      'threading.Thread(target=echo).start()',
      'k = socket.create_connection(s.getsockname(), timeout=5); k.sendall(b"ping"); print(k.recv(4).decode())',
    ].join('\n');
    const r = await run(['/usr/bin/python3', '-c', py]);
    expect(r.output.trim()).toBe('ping');
    expect(r.exitCode).toBe(0);
  });

  test('a launcher that goes away (the worker died) takes the sandbox and everything in it down', async () => {
    const launcher = new Launcher();
    const seconds = `1000.${Math.floor(Math.random() * 1e9)}`;
    const w = await wrapCommand(
      { kind: 'bwrap', detail: '' },
      ['/bin/sh', '-c', `sleep ${seconds} & sleep ${seconds}`],
      { PATH: '/usr/bin:/bin' },
      spec(),
    );
    const running = launcher.run(w.argv, { cwd: dir, env: w.env, timeoutMs: 60_000, outputCap: 1000 });
    await waitFor(() => sleepers(seconds).length === 2, { timeoutMs: 10_000 });
    launcher.close();
    await expect(running).rejects.toThrow('process launcher closed');
    await waitFor(() => sleepers(seconds).length === 0, { timeoutMs: 10_000 });
  });
});

/** Host pids of live `sleep <seconds>` processes. */
function sleepers(seconds: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const alive = !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (alive && readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `sleep\0${seconds}\0`) out.push(Number(pid));
    } catch {
      // gone
    }
  }
  return out;
}

describe('the separate-uid fallback (real runs)', () => {
  const savedPython = process.env.WINGMAN_PYTHON;
  afterEach(() => {
    if (savedPython === undefined) delete process.env.WINGMAN_PYTHON;
    else process.env.WINGMAN_PYTHON = savedPython;
  });

  test('refused when the sandbox uid cannot run the interpreter (a Python under a 0700 home)', async () => {
    process.env.WINGMAN_ISOLATION = 'uid';
    const home = path.join(dir, 'home'); // stands for /root: 0700, the interpreter inside
    await mkdir(path.join(home, 'bin'), { recursive: true });
    await chmod(home, 0o700);
    await symlink('/usr/bin/python3', path.join(home, 'bin', 'python3'));
    process.env.WINGMAN_PYTHON = path.join(home, 'bin', 'python3');
    resetIsolation();
    if (process.getuid?.() !== 0) {
      await expect(detectIsolation()).rejects.toThrow(/the worker is not root/);
      return;
    }
    await expect(detectIsolation()).rejects.toThrow(
      new RegExp(`no separate uid \\(cannot run ${process.env.WINGMAN_PYTHON} as uid 65534`),
    );
  });

  test('runs as the sandbox uid, which cannot read the worker environment; a non-root worker refuses it', async () => {
    process.env.WINGMAN_ISOLATION = 'uid';
    process.env.WINGMAN_PYTHON = '/usr/bin/python3';
    resetIsolation();
    if (process.getuid?.() !== 0) {
      await expect(detectIsolation()).rejects.toThrow(/the worker is not root/);
      return;
    }
    expect(await detectIsolation()).toMatchObject({
      kind: 'uid',
      detail: expect.stringMatching(/^separate uid 65534; .*network not isolated$/),
    });
    const scratch = path.join(dir, 'scratch');
    await mkdir(scratch);
    await chmod(dir, 0o711); // mkdtemp's 0700 would keep the sandbox user out of its own scratch dir
    await writeFile(path.join(scratch, 'own.txt'), 'x');
    const r = await run(
      [
        '/bin/sh',
        '-c',
        `id -u; cat /proc/${process.pid}/environ > /dev/null 2>&1 && echo read || echo refused; ` +
          `echo "TMPDIR=$TMPDIR"; echo y > ${scratch}/own.txt && echo wrote`,
      ],
      undefined,
      spec({ writable: [scratch], scratch }),
    );
    expect(r.output.trim().split('\n')).toEqual(['65534', 'refused', `TMPDIR=${scratch}`, 'wrote']);
    // Only the scratch dir changed hands.
    expect(statSync(scratch).uid).toBe(65534);
    expect(statSync(dir).uid).toBe(0);
  });
});

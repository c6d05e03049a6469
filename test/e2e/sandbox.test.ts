// A hostile generated test, run by the real start-batch (dev server, worker, LLM stand-in, pytest),
// hunts for what generated code must never reach: the API key in the worker's environment
// (/proc/*/environ), the checkout's `.env`, the state dir, the Temporal frontend and the LLM
// endpoint on 127.0.0.1, files outside the Python root, the worker's processes. In the sandbox it
// finds nothing; with WINGMAN_ISOLATION=none (what every run was before the sandbox) it finds all.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Report } from '../../src/schemas.js';
import { cliEnv, repoRoot, runCli } from '../support/cli.js';
import { writeInstructions } from '../support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../support/llm-standin.js';
import { startTestServer } from '../support/temporal.js';

const CANARY = `sk-canary-${process.pid}-${Date.now()}`;

// A Unix socket where the host keeps them (Docker's is /run/docker.sock): a network namespace does not
// cover the file system, so /run must be out of sight.
const SOCKET = `/run/wingman-hostile-${process.pid}.sock`;

let server: TestWorkflowEnvironment;
let llm: LlmStandIn;
let unix: Server;
beforeAll(async () => {
  server = await startTestServer();
  // The stand-in wants the key, like the real endpoint: a test that reached it could spend it.
  llm = await startLlmStandIn({ apiKey: CANARY });
  unix = createServer((c) => c.end());
  await new Promise<void>((resolve, reject) => unix.once('error', reject).listen(SOCKET, resolve));
});
afterAll(async () => {
  await new Promise((r) => unix?.close(r));
  await llm?.close();
  await server?.teardown();
});

interface Hunt {
  environ: string[];
  files: string[];
  tcp: string[];
  writes: string[];
  processes: string[];
}

/** The generated test: every place it looks is one a real attacker could guess or find. */
function hostileModule(o: {
  root: string;
  workspace: string;
  state: string;
  temporalPort: number;
  llmPort: number;
  tmpName: string;
}): string {
  const py = (v: unknown) => JSON.stringify(v);
  // What the generated test tries to read, and where it tries to write.
  const secrets = [path.join(o.root, '.env'), path.join(o.state, 'secret.txt'), path.join(repoRoot, 'package.json')];
  const targets = [
    path.join(o.root, 'outside.txt'),
    path.join(o.state, 'pwned.txt'),
    path.join(o.workspace, 'pwned.txt'),
  ];
  return `import json, os, socket, threading

CANARY = ${py(CANARY)}


def hunt():
    found = {"environ": [], "files": [], "tcp": [], "writes": [], "processes": []}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as fh:
                if CANARY.encode() in fh.read():
                    found["environ"].append(pid)
        except OSError:
            pass
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as fh:
                argv = fh.read().split(b"\\0")
            prog = os.path.basename(argv[0].decode(errors="replace"))
            # The worker (node/tsx) and the Temporal server: nothing a test should be able to see.
            if prog in ("node", "tsx", "temporal") or any(b"starter.ts" in a for a in argv):
                found["processes"].append("%s %s" % (pid, prog))
        except OSError:
            pass
    for path in (${secrets.map((p) => py(p)).join(', ')}):
        try:
            with open(path) as fh:
                fh.read()
            found["files"].append(path)
        except OSError:
            pass
    for name, port in (("temporal", ${o.temporalPort}), ("llm", ${o.llmPort})):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            found["tcp"].append(name)
        except OSError:
            pass
    try:
        u = socket.socket(socket.AF_UNIX)
        u.settimeout(2)
        u.connect(${py(SOCKET)})
        u.close()
        found["tcp"].append("unix")
    except OSError:
        pass
    for path in (${targets.map((p) => py(p)).join(', ')}):
        try:
            with open(path, "w") as fh:
                fh.write("pwned")
            found["writes"].append(path)
        except OSError:
            pass
    # Succeeds, but in the sandbox's own /tmp: the host's must not get it.
    try:
        with open(${py(path.join('/tmp', o.tmpName))}, "w") as fh:
            fh.write("pwned")
    except OSError:
        pass
    return found


def test_finds_nothing():
    found = hunt()
    print("HUNT=" + json.dumps(found))
    # A write that "succeeds" may have landed in the sandbox's own /tmp: the host checks where it went.
    del found["writes"]
    assert found == {"environ": [], "files": [], "tcp": [], "processes": []}


def test_loopback_inside():
    # A test that starts its own server on 127.0.0.1 and talks to it.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def echo():
        conn, _ = server.accept()
        conn.sendall(conn.recv(16))
        conn.close()

    t = threading.Thread(target=echo)
    t.start()
    client = socket.create_connection(server.getsockname(), timeout=5)
    client.sendall(b"ping")
    assert client.recv(16) == b"ping"
    client.close()
    t.join(5)
    server.close()
`;
}

async function runHostile(isolation: string | undefined) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-sandbox-'));
  const workspace = path.join(root, 'workspace');
  const state = path.join(root, 'state');
  mkdirSync(workspace);
  mkdirSync(state);
  // Files holding secrets, where a careless operator keeps them.
  writeFileSync(path.join(root, '.env'), `OPENAI_API_KEY=${CANARY}\n`);
  writeFileSync(path.join(state, 'secret.txt'), CANARY);
  const tmpName = `wingman-hostile-${process.pid}-${Date.now()}`;
  const temporalPort = Number(server.address.split(':').pop());
  llm.script('WORKER_001', [
    { code: hostileModule({ root, workspace, state, temporalPort, llmPort: llm.port, tmpName }) },
  ]);
  const workers = path.join(root, 'workers');
  writeInstructions(workers, [
    {
      id: 'WORKER_001',
      name: 'Hostile',
      files: ['wingman/tests/test_hostile.py'],
      test: 'pytest tests/test_hostile.py -s',
    },
  ]);
  const env = cliEnv({
    TEMPORAL_ADDRESS: server.address,
    OPENAI_API_KEY: CANARY,
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    WINGMAN_STATE_DIR: state,
    WINGMAN_ISOLATION: isolation,
  });
  const batchId = `hostile-${isolation ?? 'auto'}`;
  const cli = await runCli(
    'starter',
    ['--workers', workers, '--workspace', workspace, '--python-root', 'wingman', '--batch-id', batchId],
    { cwd: root, env },
  );
  const report = JSON.parse(readFileSync(path.join(root, 'results', batchId, 'report.json'), 'utf8')) as Report;
  const ref = report.workers[0]?.testOutputRef;
  const output = ref ? readFileSync(path.join(state, 'artifacts', ref.slice(0, 2), ref), 'utf8') : '';
  const line = output.split('\n').find((l) => l.includes('HUNT='));
  const hunt = line ? (JSON.parse(line.slice(line.indexOf('HUNT=') + 5)) as Hunt) : null;
  const leaked = {
    outside: existsSync(path.join(root, 'outside.txt')),
    state: existsSync(path.join(state, 'pwned.txt')),
    workspace: existsSync(path.join(workspace, 'pwned.txt')),
    hostTmp: existsSync(path.join('/tmp', tmpName)),
  };
  rmSync(path.join('/tmp', tmpName), { force: true });
  return { root, cli, report, output, hunt, leaked };
}

test('in the sandbox, a hostile test finds no key, no port, no process, and writes nothing outside', async () => {
  const r = await runHostile(undefined);
  try {
    expect(r.cli.stdout).toMatch(/^Isolation of generated code: bwrap \(/m);
    expect(r.hunt).toMatchObject({ environ: [], files: [], tcp: [], processes: [] });
    // Nothing the test wrote outside the Python root reached the host (the workspace is read-only to it).
    expect(r.hunt?.writes).not.toContain(path.join(r.root, 'workspace', 'pwned.txt'));
    expect(r.leaked).toEqual({ outside: false, state: false, workspace: false, hostTmp: false });
    // Both tests passed: nothing found, and loopback works inside.
    expect(r.report.workers[0]).toMatchObject({ outcome: 'passed', tests: { passed: 2, failed: 0 } });
    expect(r.report.isolation?.kind).toBe('bwrap');
    expect(r.cli.exitCode).toBe(0);
  } finally {
    rmSync(r.root, { recursive: true, force: true });
  }
});

test('without isolation (WINGMAN_ISOLATION=none, said loudly) the same test finds all of it', async () => {
  const r = await runHostile('none');
  try {
    expect(r.cli.stdout).toMatch(/^WARNING: generated code runs WITHOUT isolation \(WINGMAN_ISOLATION=none\)/m);
    expect(r.report.isolation).toEqual({ kind: 'none', detail: 'WINGMAN_ISOLATION=none' });
    // The hunt works: this is what every test run could do before the sandbox.
    expect(r.hunt?.environ.length).toBeGreaterThan(0);
    expect(r.hunt?.files).toEqual(
      expect.arrayContaining([path.join(r.root, '.env'), path.join(repoRoot, 'package.json')]),
    );
    expect(r.hunt?.tcp).toEqual(['temporal', 'llm', 'unix']);
    expect(r.hunt?.processes.length).toBeGreaterThan(0);
    expect(r.leaked).toEqual({ outside: true, state: true, workspace: true, hostTmp: true });
    expect(r.report.workers[0]?.outcome).toBe('failed');
  } finally {
    rmSync(r.root, { recursive: true, force: true });
  }
});

test('start-batch refuses (exit 3) before anything starts if generated code cannot be isolated as asked', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-sandbox-'));
  try {
    const workspace = path.join(root, 'workspace');
    mkdirSync(workspace);
    writeInstructions(path.join(root, 'workers'), [{ id: 'WORKER_001', files: ['wingman/a.py'] }]);
    const env = cliEnv({
      TEMPORAL_ADDRESS: server.address,
      OPENAI_API_KEY: CANARY,
      OPENAI_BASE_URL: llm.openaiBaseUrl,
      WINGMAN_STATE_DIR: path.join(root, 'state'),
      WINGMAN_ISOLATION: 'off',
    });
    const calls = llm.calls.length;
    const r = await runCli(
      'starter',
      [
        '--workers',
        path.join(root, 'workers'),
        '--workspace',
        workspace,
        '--python-root',
        'wingman',
        '--batch-id',
        'refused',
      ],
      { cwd: root, env },
    );
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('WINGMAN_ISOLATION must be auto, bwrap, uid or none (got "off")');
    expect(r.stdout).not.toContain('Started batch');
    expect(llm.calls.length).toBe(calls);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

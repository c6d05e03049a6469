// The production shape (docker-compose.yml, Dockerfile, deploy/) checked without a Docker engine:
// docker-compose 1.29 (Debian's `docker-compose` package) parses, interpolates and validates the
// compose file offline with `config`; its normalized YAML is read with the PyYAML that
// docker-compose itself runs on, so this suite adds no dependency. The two one-shot setup scripts run
// here against stand-ins for `temporal`, `temporal-sql-tool` and `nc`.
import { afterAll, describe, expect, test } from '@jest/globals';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SEARCH_ATTRIBUTES } from '../../src/temporal/search-attributes.js';
import { executable } from '../global-setup.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const composeFile = path.join(root, 'docker-compose.yml');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'wingman-compose-'));
// No .env of the developer's and no variable of the shell: the file's own defaults are checked.
const emptyEnvFile = path.join(scratch, 'empty.env');
writeFileSync(emptyEnvFile, '');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const SERVICES = [
  'postgresql',
  'temporal-schema',
  'temporal',
  'temporal-namespace',
  'temporal-ui',
  'worker',
  'worker-llm',
];
const ATTRIBUTE_NAMES = Object.keys(SEARCH_ATTRIBUTES);

// --- finding docker-compose -------------------------------------------------------------------

function findComposeV1(): string {
  const candidates = [
    '/usr/bin/docker-compose',
    ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'docker-compose')),
  ];
  const found = candidates.find((c) => c && executable(c));
  if (!found) {
    throw new Error(
      'docker-compose is not installed, so docker-compose.yml cannot be validated. Install it: ' +
        "`apt-get update && apt-get install -y docker-compose` (Debian's docker-compose 1.29; .ci/run installs it). " +
        'It parses the file offline: no Docker engine is needed.',
    );
  }
  return found;
}

/** The Python docker-compose runs on (its shebang): it has PyYAML, which compose itself needs. */
function composePython(bin: string): string {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
  if (!m) throw new Error(`${bin} is not a Python script (first line "${first}"): cannot read its YAML output`);
  return m[1]!.endsWith('/env') && m[2] ? m[2] : m[1]!;
}

function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? scratch,
    LANG: 'C.UTF-8',
  };
  return { ...env, ...extra };
}

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `docker-compose config` (v1.29) normalized, as JSON. Fails the test on a non-zero exit. */
async function configV1(
  extraEnv: Record<string, string> = {},
  envFile = emptyEnvFile,
): Promise<{ text: string; config: Json }> {
  const bin = findComposeV1();
  const r = await execa(bin, ['--project-directory', root, '--env-file', envFile, '-f', composeFile, 'config'], {
    env: baseEnv(extraEnv),
    extendEnv: false,
    reject: false,
  });
  if (r.exitCode !== 0) throw new Error(`docker-compose config exited ${r.exitCode}:\n${r.stderr}\n${r.stdout}`);
  const parsed = await execa(
    composePython(bin),
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    {
      input: r.stdout,
      env: baseEnv(),
      extendEnv: false,
    },
  );
  return { text: r.stdout, config: JSON.parse(parsed.stdout) };
}

// --- reading either version's normalized form -------------------------------------------------

function env(svc: Json): Record<string, string> {
  const e = svc.environment ?? {};
  if (Array.isArray(e))
    return Object.fromEntries(e.map((kv: string) => [kv.split('=')[0], kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

/** Volumes as { source, target }: v1 prints "src:dst:mode", v2 objects. */
function volumes(svc: Json): Array<{ source: string; target: string }> {
  return (svc.volumes ?? []).map((v: Json) => {
    if (typeof v === 'string') {
      const parts = v.split(':');
      return parts.length === 1 ? { source: '', target: parts[0] } : { source: parts[0], target: parts[1] };
    }
    return { source: v.source ?? '', target: v.target };
  });
}

/** Ports as { hostIp, published, target }. */
function ports(svc: Json): Array<{ hostIp: string; published: string; target: string }> {
  return (svc.ports ?? []).map((p: Json) => {
    if (typeof p === 'string' || typeof p === 'number') {
      const parts = String(p)
        .replace(/\/\w+$/, '')
        .split(':');
      const target = parts.pop() ?? '';
      const published = parts.pop() ?? '';
      return { hostIp: parts.pop() ?? '', published, target };
    }
    return { hostIp: p.host_ip ?? '', published: String(p.published ?? ''), target: String(p.target) };
  });
}

function extraHosts(svc: Json): string[] {
  const h = svc.extra_hosts ?? [];
  if (Array.isArray(h)) return h.map((x: string) => x.replace('=', ':'));
  return Object.entries(h).map(([k, v]) => `${k}:${Array.isArray(v) ? v.join(',') : v}`);
}

function dependsOn(svc: Json): Record<string, string> {
  const d = svc.depends_on ?? {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n: string) => [n, 'service_started']));
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, (v as Json)?.condition ?? 'service_started']));
}

// --- what the stack must be, whichever parser read it -----------------------------------------

function checkStack(config: Json): void {
  const services = config.services as Record<string, Json>;
  expect(Object.keys(services).sort()).toEqual([...SERVICES].sort());

  // Never a second Ollama: the host's is used.
  for (const [name, svc] of Object.entries(services)) {
    expect(name).not.toMatch(/ollama/i);
    expect(String(svc.image ?? '')).not.toMatch(/ollama/i);
  }
  // Every image pinned: a tag, never `latest`.
  for (const name of ['postgresql', 'temporal-schema', 'temporal', 'temporal-namespace', 'temporal-ui']) {
    expect(services[name].image).toMatch(/^[\w./-]+:[\w.-]+$/);
    expect(services[name].image).not.toMatch(/:latest$/);
  }

  const pg = services.postgresql;
  expect(pg.image).toMatch(/^postgres:16/);
  expect(pg.healthcheck?.test).toBeDefined();
  expect(volumes(pg)).toContainEqual({ source: 'postgresql-data', target: '/var/lib/postgresql/data' });
  expect(Object.keys(config.volumes ?? {})).toEqual(expect.arrayContaining(['postgresql-data', 'wingman-state']));

  const schema = services['temporal-schema'];
  expect(schema.image).toMatch(/^temporalio\/admin-tools:/);
  expect(dependsOn(schema)).toEqual({ postgresql: 'service_healthy' });
  expect(JSON.stringify(schema.entrypoint ?? schema.command)).toContain('setup-schema.sh');
  expect(env(schema)).toMatchObject({ DB: 'postgres12', DBNAME: 'temporal', VISIBILITY_DBNAME: 'temporal_visibility' });

  const temporal = services.temporal;
  expect(temporal.image).toMatch(/^temporalio\/server:1\.\d+\.\d+$/);
  // The admin-tools that migrate the schema are the server's own version.
  expect(schema.image.split(':')[1]).toBe(temporal.image.split(':')[1]);
  expect(env(temporal)).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql', BIND_ON_IP: '0.0.0.0' });
  expect(dependsOn(temporal)).toEqual({ 'temporal-schema': 'service_completed_successfully' });
  expect(temporal.healthcheck?.test).toBeDefined();

  const ns = services['temporal-namespace'];
  expect(ns.image).toBe(schema.image);
  expect(dependsOn(ns)).toEqual({ temporal: 'service_healthy' });
  expect(JSON.stringify(ns.entrypoint ?? ns.command)).toContain('setup-namespace.sh');
  expect(env(ns).TEMPORAL_ADDRESS).toBe('temporal:7233');
  expect(env(ns).TEMPORAL_NAMESPACE).toBe('default');
  expect((env(ns).WINGMAN_SEARCH_ATTRIBUTES ?? '').split(/\s+/).sort()).toEqual([...ATTRIBUTE_NAMES].sort());

  const ui = services['temporal-ui'];
  expect(ui.image).toMatch(/^temporalio\/ui:2\.\d+\.\d+$/);
  expect(env(ui).TEMPORAL_ADDRESS).toBe('temporal:7233');
  expect(ports(ui)).toEqual([{ hostIp: '127.0.0.1', published: '8080', target: '8080' }]);

  const worker = services.worker;
  // Scalable (`--scale worker=3`): no fixed name, no host port.
  expect(worker.container_name).toBeUndefined();
  expect(worker.ports ?? []).toEqual([]);
  expect(worker.build).toBeDefined();
  expect(path.resolve(String(worker.build.context))).toBe(path.resolve(root));
  // The workspace role: the workflows and the workspace queue; the LLM calls are worker-llm's.
  expect(worker.command).toEqual(['npm', 'run', 'worker', '--', '--queues', 'wingman,workspace']);
  expect(dependsOn(worker)).toEqual({
    temporal: 'service_healthy',
    'temporal-namespace': 'service_completed_successfully',
  });
  expect(String(worker.user)).not.toMatch(/^(0|root)(:|$)/);

  const we = env(worker);
  expect(we.TEMPORAL_ADDRESS).toBe('temporal:7233');
  expect(we.TEMPORAL_NAMESPACE).toBe('default');
  expect(we.OLLAMA_HOST).toBe('host.docker.internal');
  expect(extraHosts(worker)).toContain('host.docker.internal:host-gateway');
  // The worker's Prometheus endpoint, reachable on the stack's network.
  expect(we.WINGMAN_METRICS_PORT).toBe('9464');
  // Passed through from the host, empty (= not set) by default.
  for (const k of [
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'OPENAI_MODEL',
    'MEM0_API_URL',
    'MEM0_USER_ID',
    'MEM0_API_KEY',
    'TEMPORAL_API_KEY',
    'INTEL_LLM_PROCESSOR',
    'INTEL_LLM_ROUTER',
  ]) {
    expect(we).toHaveProperty(k, '');
  }
  expect(we.WINGMAN_STATE_DIR).toBe('/state');
  // Generated code runs in bubblewrap: the default seccomp and AppArmor profiles would refuse it.
  expect(worker.security_opt).toEqual(expect.arrayContaining(['seccomp=unconfined', 'apparmor=unconfined']));
  expect(we).toHaveProperty('WINGMAN_ISOLATION', '');
  const wv = volumes(worker);
  expect(wv).toContainEqual({ source: path.join(root, 'workspace'), target: '/workspace' });
  expect(wv).toContainEqual({ source: 'wingman-state', target: '/state' });
}

// --- the tests --------------------------------------------------------------------------------

describe('docker-compose.yml, read by docker-compose 1.29', () => {
  test('runs the workspace worker and the LLM workers as separate services that share no volume', async () => {
    const { config } = await configV1();
    const ws = config.services.worker;
    const llm = config.services['worker-llm'];
    // `--scale worker-llm=3`: no fixed name, no host port; the same image, the LLM queues only.
    expect(llm.container_name).toBeUndefined();
    expect(llm.ports ?? []).toEqual([]);
    expect(llm.image).toBe(ws.image);
    expect(llm.command).toEqual(['npm', 'run', 'worker', '--', '--queues', 'llm']);
    expect(String(llm.user)).not.toMatch(/^(0|root)(:|$)/);
    // No volume at all on the LLM side: nothing of the workspace host's disk, and no shared state.
    expect(volumes(llm)).toEqual([]);
    const shared = volumes(ws).filter((v) => volumes(llm).some((l) => l.source === v.source));
    expect(shared).toEqual([]);
    expect(env(llm).WINGMAN_STATE_DIR).not.toBe(env(ws).WINGMAN_STATE_DIR);
    // Both can be pointed at the same bucket for claim checks, and reach the same providers.
    for (const k of [
      'WINGMAN_BLOB_S3_ENDPOINT',
      'WINGMAN_BLOB_S3_BUCKET',
      'AWS_ACCESS_KEY_ID',
      'OPENAI_API_KEY',
      'OLLAMA_HOST',
      'TEMPORAL_ADDRESS',
    ]) {
      expect(env(llm)[k]).toBe(env(ws)[k]);
    }
    expect(dependsOn(llm)).not.toHaveProperty('worker');
  });

  test('the workspace worker follows the configured queue names; the bucket reaches both roles', async () => {
    const { config } = await configV1({
      TEMPORAL_TASK_QUEUE: 'wf-b',
      WINGMAN_WORKSPACE_QUEUE: 'ws-b',
      WINGMAN_BLOB_S3_ENDPOINT: 'http://minio:9000',
      WINGMAN_BLOB_S3_BUCKET: 'wingman',
    });
    expect(config.services.worker.command).toEqual(['npm', 'run', 'worker', '--', '--queues', 'wf-b,ws-b']);
    for (const s of ['worker', 'worker-llm']) {
      expect(env(config.services[s])).toMatchObject({
        WINGMAN_BLOB_S3_ENDPOINT: 'http://minio:9000',
        WINGMAN_BLOB_S3_BUCKET: 'wingman',
        WINGMAN_WORKSPACE_QUEUE: 'ws-b',
      });
    }
  });

  test('is valid, and is the production stack', async () => {
    const { config } = await configV1();
    checkStack(config);
  });

  test('has no compose-v1-only version line', () => {
    const raw = readFileSync(composeFile, 'utf8');
    const version = /^version:\s*["']?([\d.]+)/m.exec(raw)?.[1];
    // None (the Compose Specification), or 3.8+ at most.
    if (version) expect(Number(version)).toBeGreaterThanOrEqual(3.8);
  });

  test('passes the host environment through to the worker', async () => {
    const { config } = await configV1({
      TEMPORAL_ADDRESS: 'wingman.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'wingman.a1b2c',
      TEMPORAL_API_KEY: 'tk-test',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://llm.example:8000/v1',
      MEM0_API_URL: 'http://mem0.example:8888',
      MEM0_USER_ID: 'ci',
      WINGMAN_WORKSPACE: '/srv/checkout',
      WINGMAN_UID: '1234',
      WINGMAN_GID: '1234',
      // Ollama's own variable on the host is its listen address: not what the worker should use.
      OLLAMA_HOST: '0.0.0.0',
      TEMPORAL_UI_PORT: '18080',
    });
    const worker = config.services.worker;
    expect(env(worker)).toMatchObject({
      TEMPORAL_ADDRESS: 'wingman.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'wingman.a1b2c',
      TEMPORAL_API_KEY: 'tk-test',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://llm.example:8000/v1',
      MEM0_API_URL: 'http://mem0.example:8888',
      MEM0_USER_ID: 'ci',
      OLLAMA_HOST: 'host.docker.internal',
    });
    expect(String(worker.user)).toBe('1234:1234');
    expect(volumes(worker)).toContainEqual({ source: '/srv/checkout', target: '/workspace' });
    expect(ports(config.services['temporal-ui'])).toEqual([
      { hostIp: '127.0.0.1', published: '18080', target: '8080' },
    ]);
    // The local server's own setup keeps talking to the local server.
    expect(env(config.services['temporal-namespace']).TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  test("deploy/env.example, copied to .env as it is, keeps the local stack's defaults", async () => {
    const { config } = await configV1({}, path.join(root, 'deploy', 'env.example'));
    checkStack(config);
  });

  test('lists the services', async () => {
    const r = await execa(
      findComposeV1(),
      ['--project-directory', root, '--env-file', emptyEnvFile, '-f', composeFile, 'config', '--services'],
      {
        env: baseEnv(),
        extendEnv: false,
      },
    );
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([...SERVICES].sort());
  });
});

// --- the one-shot setup scripts, against stand-ins --------------------------------------------

/** A bin directory of shell stand-ins that log their argv to calls.log. */
function fakeBin(tools: Record<string, string>): { dir: string; calls: () => string[] } {
  const dir = mkdtempSync(path.join(scratch, 'bin-'));
  const log = path.join(dir, 'calls.log');
  writeFileSync(log, '');
  for (const [name, body] of Object.entries(tools)) {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> "${log}"\n${body}\n`);
    chmodSync(file, 0o755);
  }
  return { dir, calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

const runScript = (script: string, binDir: string, extra: Record<string, string> = {}) =>
  execa('sh', [path.join(root, 'deploy', 'scripts', script)], {
    env: { PATH: `${binDir}${path.delimiter}/usr/bin:/bin`, SETUP_DELAY: '0', SETUP_TRIES: '3', ...extra },
    extendEnv: false,
    reject: false,
  });

describe('deploy/scripts/setup-namespace.sh', () => {
  // A `temporal` stand-in with state: namespaces and attributes created so far, in files.
  const temporalFake = (state: string, opts: { attrType?: string } = {}) => {
    const createAttribute = opts.attrType
      ? `echo "search attribute $name already exists and has different type ${opts.attrType}" >&2; exit 1`
      : 'if [ -f "$state/$name" ]; then echo "Search attribute $name already exists" >&2; exit 1; fi; ' +
        'touch "$state/$name"';
    return `
state="${state}"
case "$*" in
  "operator cluster health"*) echo SERVING ;;
  "operator namespace describe"*) [ -f "$state/ns" ] || { echo "Namespace default is not found" >&2; exit 1; } ;;
  "operator namespace create"*) touch "$state/ns"; echo "Namespace default successfully registered." ;;
  "operator search-attribute create"*)
    name=$(echo "$*" | sed 's/.*--name \\([A-Za-z]*\\).*/\\1/')
    ${createAttribute} ;;
  "operator search-attribute list"*) ls "$state" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac`;
  };

  test('creates the namespace and registers every search attribute as Keyword, and is idempotent', async () => {
    const state = mkdtempSync(path.join(scratch, 'temporal-'));
    const bin = fakeBin({ temporal: temporalFake(state) });
    const first = await runScript('setup-namespace.sh', bin.dir, {
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'default',
    });
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    const calls = bin.calls();
    expect(calls).toContain(
      'temporal operator namespace create --namespace default --retention 168h --address temporal:7233',
    );
    for (const name of ATTRIBUTE_NAMES) {
      expect(calls).toContain(
        `temporal operator search-attribute create --namespace default --name ${name} ` +
          '--type Keyword --address temporal:7233',
      );
    }

    // Again, on the next `docker compose up`: everything exists, nothing fails.
    const second = await runScript('setup-namespace.sh', bin.dir);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('namespace default exists');
    expect(second.stdout).toContain('already exists');
  });

  test('fails when an attribute exists with another type', async () => {
    const state = mkdtempSync(path.join(scratch, 'temporal-'));
    const bin = fakeBin({ temporal: temporalFake(state, { attrType: 'Text' }) });
    const r = await runScript('setup-namespace.sh', bin.dir);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('different type');
  });

  test('gives up, failing, when Temporal never answers', async () => {
    const bin = fakeBin({ temporal: 'echo "connection refused" >&2; exit 1' });
    const r = await runScript('setup-namespace.sh', bin.dir);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('cluster health: failed after 3 tries');
  });
});

describe('deploy/scripts/setup-schema.sh', () => {
  test('creates and migrates both databases with the postgres12 plugin; an existing database is fine', async () => {
    const bin = fakeBin({
      nc: 'exit 0',
      // The default database exists already (postgres creates one named after its user).
      'temporal-sql-tool':
        'case "$*" in ' +
        '*"--db temporal create"*) echo "pq: database \\"temporal\\" already exists" >&2; exit 1 ;; esac; exit 0',
    });
    const schemaRoot = path.join(scratch, 'schema');
    for (const d of ['temporal', 'visibility']) mkdirSync(path.join(schemaRoot, d, 'versioned'), { recursive: true });
    const r = await runScript('setup-schema.sh', bin.dir, { POSTGRES_PWD: 'pw', SCHEMA_ROOT: schemaRoot });
    expect(r.exitCode).toBe(0);
    const common = 'temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u temporal';
    expect(bin.calls().filter((c) => c.startsWith('temporal-sql-tool'))).toEqual([
      `${common} --db temporal create`,
      `${common} --db temporal setup-schema -v 0.0`,
      `${common} --db temporal update-schema -d ${schemaRoot}/temporal/versioned`,
      `${common} --db temporal_visibility create`,
      `${common} --db temporal_visibility setup-schema -v 0.0`,
      `${common} --db temporal_visibility update-schema -d ${schemaRoot}/visibility/versioned`,
    ]);
  });

  test('stops at the first real failure', async () => {
    const bin = fakeBin({
      nc: 'exit 0',
      'temporal-sql-tool': 'case "$*" in *update-schema*) echo "migration failed" >&2; exit 1 ;; esac; exit 0',
    });
    const schemaRoot = path.join(scratch, 'schema2');
    for (const d of ['temporal', 'visibility']) mkdirSync(path.join(schemaRoot, d, 'versioned'), { recursive: true });
    const r = await runScript('setup-schema.sh', bin.dir, { POSTGRES_PWD: 'pw', SCHEMA_ROOT: schemaRoot });
    expect(r.exitCode).not.toBe(0);
    expect(bin.calls().some((c) => c.includes('temporal_visibility'))).toBe(false);
  });

  test('refuses to run without the database password', async () => {
    const bin = fakeBin({ nc: 'exit 0', 'temporal-sql-tool': 'exit 0' });
    const r = await runScript('setup-schema.sh', bin.dir);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('POSTGRES_PWD');
  });
});

// --- the image --------------------------------------------------------------------------------

describe('Dockerfile', () => {
  const dockerfile = path.join(root, 'Dockerfile');
  // Instructions with their continuation lines joined and comments dropped.
  const instructions = (): Array<{ op: string; args: string }> =>
    readFileSync(dockerfile, 'utf8')
      .split('\n')
      .filter((l) => !/^\s*#/.test(l))
      .join('\n')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => {
        const [op = '', ...rest] = l.split(/\s+/);
        return { op: op.toUpperCase(), args: rest.join(' ') };
      });

  test('exists and builds the worker: node 20 bookworm-slim, Python with pytest, npm ci, src/', () => {
    expect(existsSync(dockerfile)).toBe(true);
    const ins = instructions();
    const text = ins.map((i) => `${i.op} ${i.args}`).join('\n');
    const from = ins.find((i) => i.op === 'FROM')!.args;
    const nodeImage = from.startsWith('${') ? /ARG NODE_IMAGE=(\S+)/.exec(text)?.[1] : from;
    expect(nodeImage).toBe('node:20-bookworm-slim');
    expect(text).toMatch(/apt-get install[^\n]*\bpython3\b/);
    // The sandbox generated code runs in (src/activities/process/sandbox.ts).
    expect(text).toMatch(/apt-get install[^\n]*\bbubblewrap\b/);
    expect(text).toMatch(/pip install[^\n]*pytest/);
    expect(text).toMatch(/\bnpm ci\b/);
    expect(ins).toContainEqual({ op: 'COPY', args: 'package.json package-lock.json ./' });
    expect(ins.some((i) => i.op === 'COPY' && /^src\s/.test(i.args))).toBe(true);
  });

  test('runs `npm run worker` as a non-root user', () => {
    const ins = instructions();
    const cmd = ins.filter((i) => i.op === 'CMD').pop();
    expect(cmd && JSON.parse(cmd.args)).toEqual(['npm', 'run', 'worker']);
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.scripts.worker).toContain('src/worker.ts');
    const user = ins.filter((i) => i.op === 'USER').pop()?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    // USER comes after every RUN: nothing after it switches back.
    const lastUser = ins.map((i) => i.op).lastIndexOf('USER');
    expect(ins.slice(lastUser).some((i) => i.op === 'RUN')).toBe(false);
  });

  test('.dockerignore keeps local state, dependencies and secrets out of the build context', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const entry of ['node_modules', '.temporal', '.wingman', 'results', '.git', '.env'])
      expect(ignored).toContain(entry);
  });
});

// --- the stack is what the postgres tier tested --------------------------------------------------

describe('docker-compose.yml agrees with scripts/temporal-postgres.sh (the `npm run test:postgres` server)', () => {
  async function scriptSettings(): Promise<Record<string, string>> {
    const r = await execa(path.join(root, 'scripts', 'temporal-postgres.sh'), ['settings'], {
      env: baseEnv(),
      extendEnv: false,
    });
    return Object.fromEntries(
      r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  test('the same server version, schema steps, databases, dynamic config and search attributes', async () => {
    const s = await scriptSettings();
    const { config } = await configV1();
    const services = config.services as Record<string, Json>;

    // The server, and the admin-tools whose schema files and sql tool set it up: the tested version.
    expect(services.temporal.image).toBe(`temporalio/server:${s.TEMPORAL_SERVER_VERSION}`);
    expect(services['temporal-schema'].image).toBe(`temporalio/admin-tools:${s.TEMPORAL_SERVER_VERSION}`);

    // The schema steps: the script runs the compose service's own script, with the same plugin,
    // databases and user, on the same schema directory of the same release.
    const schema = services['temporal-schema'];
    expect(JSON.stringify(schema.entrypoint)).toContain(`/${s.SCHEMA_SCRIPT}`);
    expect(volumes(schema)).toContainEqual({
      source: path.join(root, path.dirname(s.SCHEMA_SCRIPT!)),
      target: `/${path.dirname(s.SCHEMA_SCRIPT!)}`,
    });
    expect(env(schema)).toMatchObject({
      DB: s.SCHEMA_PLUGIN,
      DBNAME: s.DB_NAME,
      VISIBILITY_DBNAME: s.VISIBILITY_DB_NAME,
      POSTGRES_USER: s.DB_USER,
    });
    const schemaRoot = /SCHEMA_ROOT:=([^}]+)\}/.exec(readFileSync(path.join(root, s.SCHEMA_SCRIPT!), 'utf8'))?.[1];
    expect(schemaRoot).toBe(`/etc/temporal/${s.SCHEMA_SUBDIR}`);
    expect(env(services.temporal)).toMatchObject({
      DB: s.SCHEMA_PLUGIN,
      DBNAME: s.DB_NAME,
      VISIBILITY_DBNAME: s.VISIBILITY_DB_NAME,
    });

    // The dynamic config the tested server ran with is the file the stack mounts and names.
    const mounted = volumes(services.temporal).find(
      (v) => v.source === path.join(root, path.dirname(s.DYNAMIC_CONFIG!)),
    );
    expect(mounted).toBeDefined();
    expect(env(services.temporal).DYNAMIC_CONFIG_FILE_PATH).toBe(
      `${mounted!.target}/${path.basename(s.DYNAMIC_CONFIG!)}`,
    );

    // The search attributes the stack registers are the ones start-batch registers on the tested server.
    expect((env(services['temporal-namespace']).WINGMAN_SEARCH_ATTRIBUTES ?? '').split(/\s+/).sort()).toEqual(
      Object.keys(SEARCH_ATTRIBUTES).sort(),
    );
    expect(Object.values(SEARCH_ATTRIBUTES).every((t) => t === 'Keyword')).toBe(true);
    expect(readFileSync(path.join(root, 'deploy', 'scripts', 'setup-namespace.sh'), 'utf8')).toContain(
      '--type Keyword',
    );
  });
});

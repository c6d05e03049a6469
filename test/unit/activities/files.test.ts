// writeDeliverables on real files in a temp workspace: atomic, inside only, previous kept, idempotent.
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ArtifactStore, sha256 } from '../../../src/activities/artifacts.js';
import { readConfig } from '../../../src/config.js';
import { writeDeliverables } from '../../../src/activities/files.js';

let dir: string;
let workspace: string;
let deps: { config: ReturnType<typeof readConfig>; store: ArtifactStore };

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'files-'));
  workspace = path.join(dir, 'ws');
  await mkdir(workspace);
  deps = {
    config: readConfig({ WINGMAN_STATE_DIR: path.join(dir, 'state') }),
    store: new ArtifactStore(path.join(dir, 'state', 'artifacts')),
  };
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const CODE = 'class SemanticAnalyzer:\n    pass\n';
const FILE = 'wingman/validation/semantic_analyzer.py';

test('writes a new file (mkdir -p), leaves no temp file, reports no previous version', async () => {
  const ref = await deps.store.put(CODE);
  const { written } = await writeDeliverables(deps, { workspace, files: [{ path: FILE, ref }] });
  expect(written).toEqual([{ path: FILE, sha256: sha256(CODE), bytes: Buffer.byteLength(CODE), previous: null }]);
  expect(await readFile(path.join(workspace, FILE), 'utf8')).toBe(CODE);
  expect(await readdir(path.join(workspace, 'wingman/validation'))).toEqual(['semantic_analyzer.py']);
  expect((await stat(path.join(workspace, FILE))).mode & 0o777).toBe(0o644);
});

test('keeps the previous version under <stateDir>/previous/<sha> and returns its sha', async () => {
  const old = 'OLD = 1\n';
  await mkdir(path.join(workspace, 'wingman/validation'), { recursive: true });
  await writeFile(path.join(workspace, FILE), old);
  const { written } = await writeDeliverables(deps, {
    workspace,
    files: [{ path: FILE, ref: await deps.store.put(CODE) }],
  });
  expect(written[0]?.previous).toBe(sha256(old));
  expect(await readFile(path.join(deps.config.stateDir, 'previous', sha256(old)), 'utf8')).toBe(old);
  expect(await readFile(path.join(workspace, FILE), 'utf8')).toBe(CODE);
});

test('idempotent: the same content is not written again (crash-resume writes every file once)', async () => {
  const ref = await deps.store.put(CODE);
  await writeDeliverables(deps, { workspace, files: [{ path: FILE, ref }] });
  const before = await stat(path.join(workspace, FILE));
  await new Promise((r) => setTimeout(r, 20));
  const { written } = await writeDeliverables(deps, { workspace, files: [{ path: FILE, ref }] });
  const after = await stat(path.join(workspace, FILE));
  expect(after.ino).toBe(before.ino);
  expect(after.mtimeMs).toBe(before.mtimeMs);
  expect(written[0]).toMatchObject({ sha256: sha256(CODE), previous: sha256(CODE) });
  await expect(readdir(path.join(deps.config.stateDir, 'previous'))).rejects.toThrow(/ENOENT/);
});

test('keeps an existing file mode; a new script with a shebang is executable', async () => {
  await mkdir(path.join(workspace, 'deploy'));
  await writeFile(path.join(workspace, 'deploy/old.sh'), 'echo old\n', { mode: 0o750 });
  const files = [
    { path: 'deploy/old.sh', ref: await deps.store.put('echo new\n') },
    { path: 'deploy/rollout_test.sh', ref: await deps.store.put('#!/usr/bin/env bash\nset -euo pipefail\n') },
  ];
  await writeDeliverables(deps, { workspace, files });
  expect((await stat(path.join(workspace, 'deploy/old.sh'))).mode & 0o777).toBe(0o750);
  expect((await stat(path.join(workspace, 'deploy/rollout_test.sh'))).mode & 0o777).toBe(0o755);
});

test('refuses paths outside the workspace, non-retryably', async () => {
  const ref = await deps.store.put(CODE);
  for (const p of ['../escape.py', '/etc/passwd', 'wingman/../../escape.py']) {
    await expect(writeDeliverables(deps, { workspace, files: [{ path: p, ref }] })).rejects.toMatchObject({
      type: 'PathOutsideWorkspace',
      nonRetryable: true,
    });
  }
  expect((await readdir(dir)).sort()).toEqual(['state', 'ws']); // no escape.py beside the workspace
});

test('never writes through a symlink out of the workspace', async () => {
  const outside = path.join(dir, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'target.py'), 'SECRET = 1\n');
  await symlink(outside, path.join(workspace, 'linkdir'));
  await symlink(path.join(outside, 'target.py'), path.join(workspace, 'link.py'));
  const ref = await deps.store.put(CODE);
  await expect(writeDeliverables(deps, { workspace, files: [{ path: 'linkdir/x.py', ref }] })).rejects.toMatchObject({
    type: 'PathOutsideWorkspace',
  });
  await expect(writeDeliverables(deps, { workspace, files: [{ path: 'link.py', ref }] })).rejects.toMatchObject({
    type: 'PathOutsideWorkspace',
  });
  expect(await readFile(path.join(outside, 'target.py'), 'utf8')).toBe('SECRET = 1\n');
  expect(await readdir(outside)).toEqual(['target.py']);
});

test('a symlink inside the workspace is replaced by the file, its target left alone', async () => {
  await mkdir(path.join(workspace, 'wingman'));
  await writeFile(path.join(workspace, 'wingman/real.py'), 'REAL = 1\n');
  await symlink('real.py', path.join(workspace, 'wingman/alias.py'));
  expect(await readlink(path.join(workspace, 'wingman/alias.py'))).toBe('real.py');
  const { written } = await writeDeliverables(deps, {
    workspace,
    files: [{ path: 'wingman/alias.py', ref: await deps.store.put(CODE) }],
  });
  expect(written[0]?.previous).toBe(sha256('REAL = 1\n'));
  expect((await lstat(path.join(workspace, 'wingman/alias.py'))).isSymbolicLink()).toBe(false);
  expect(await readFile(path.join(workspace, 'wingman/alias.py'), 'utf8')).toBe(CODE);
  expect(await readFile(path.join(workspace, 'wingman/real.py'), 'utf8')).toBe('REAL = 1\n');
});

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isWithin, PathError, resolveInside } from '../../../src/instructions/paths.js';

// Real directories and symlinks in a temp dir:
//   base/ws/            the workspace
//   base/ws/wingman/
//   base/outside/       a sibling it must not reach
//   base/ws-evil/       shares the workspace's name as a prefix
//   base/link-to-ws ->  base/ws (the workspace reached through a symlink)
let base: string;
let ws: string;

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'wingman-paths-'));
  ws = path.join(base, 'ws');
  await mkdir(path.join(ws, 'wingman/validation'), { recursive: true });
  await mkdir(path.join(base, 'outside'));
  await mkdir(path.join(base, 'ws-evil'));
  await writeFile(path.join(base, 'outside/secret.txt'), 'secret');
  await symlink(path.join(base, 'outside'), path.join(ws, 'out-dir'));
  await symlink(path.join(base, 'outside/secret.txt'), path.join(ws, 'out-file.txt'));
  await symlink(path.join(ws, 'wingman'), path.join(ws, 'in-dir'));
  await symlink('wingman/validation', path.join(ws, 'relative-in'));
  await symlink('../outside', path.join(ws, 'relative-out'));
  await symlink(path.join(base, 'outside/not-yet.py'), path.join(ws, 'dangling-out.py'));
  await symlink(path.join(ws, 'wingman/not-yet.py'), path.join(ws, 'dangling-in.py'));
  await symlink(path.join(base, 'nowhere/deeper'), path.join(ws, 'dangling-out-dir'));
  await symlink(ws, path.join(base, 'link-to-ws'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function refused(rel: string, workspace = ws): string {
  try {
    resolveInside(workspace, rel);
  } catch (e) {
    expect(e).toBeInstanceOf(PathError);
    return (e as Error).message;
  }
  throw new Error(`expected ${rel} to be refused`);
}

describe('resolveInside accepts paths inside the workspace', () => {
  test.each([
    ['wingman/validation/semantic_analyzer.py', 'wingman/validation/semantic_analyzer.py'],
    ['deploy/rollout_test.sh', 'deploy/rollout_test.sh'], // a folder that does not exist yet
    ['./wingman/x.py', 'wingman/x.py'],
    ['wingman/../deploy/x.sh', 'deploy/x.sh'],
    ['.', ''],
    ['in-dir/x.py', 'in-dir/x.py'], // symlink that stays inside
    ['relative-in/x.py', 'relative-in/x.py'],
    ['dangling-in.py', 'dangling-in.py'],
    ['a/b/c/d/e.py', 'a/b/c/d/e.py'],
  ])('%s', (rel, expected) => {
    expect(resolveInside(ws, rel)).toBe(path.join(ws, expected));
  });

  test('the workspace itself may be reached through a symlink', () => {
    expect(resolveInside(path.join(base, 'link-to-ws'), 'wingman/x.py')).toBe(
      path.join(base, 'link-to-ws/wingman/x.py'),
    );
    expect(refused('out-dir/x.py', path.join(base, 'link-to-ws'))).toMatch(/through a symlink/);
  });

  test('a relative workspace is resolved against the current directory', () => {
    expect(resolveInside(path.relative(process.cwd(), ws), 'x.py')).toBe(path.join(ws, 'x.py'));
  });
});

describe('resolveInside refuses', () => {
  test('empty paths and NUL bytes', () => {
    expect(refused('')).toBe('empty path');
    expect(refused('   ')).toBe('empty path');
    expect(refused('wingman/x\0.py')).toBe('path contains a NUL byte: "wingman/x\\u0000.py"');
  });

  test('absolute paths, POSIX and Windows', () => {
    expect(refused('/etc/passwd')).toBe('absolute path not allowed: /etc/passwd');
    expect(refused(path.join(ws, 'wingman/x.py'))).toMatch(/^absolute path not allowed/); // even one inside
    expect(refused('C:\\Windows\\evil.py')).toBe('absolute path not allowed: C:\\Windows\\evil.py');
    expect(refused('c:/evil.py')).toBe('absolute path not allowed: c:/evil.py');
  });

  test.each([
    '..',
    '../outside/x.py',
    '../../outside/evil.py',
    'wingman/../../x.py',
    'a/b/../../../x',
    '../ws-evil/x.py',
  ])('`..` out: %s', (rel) => expect(refused(rel)).toBe(`path leaves the workspace: ${rel}`));

  test.each(['out-dir/x.py', 'out-dir', 'out-file.txt', 'relative-out/secret.txt', 'relative-out/new/dir/x.py'])(
    'symlink out: %s',
    (rel) => expect(refused(rel)).toBe(`path leaves the workspace through a symlink: ${rel}`),
  );

  test('a dangling symlink pointing outside (to a file or a folder not made yet)', () => {
    expect(refused('dangling-out.py')).toBe('path leaves the workspace through a symlink: dangling-out.py');
    expect(refused('dangling-out-dir')).toBe('path leaves the workspace through a symlink: dangling-out-dir');
  });
});

describe('isWithin', () => {
  test('compares whole path segments, not string prefixes', () => {
    expect(isWithin('/a/ws', '/a/ws')).toBe(true);
    expect(isWithin('/a/ws', '/a/ws/x')).toBe(true);
    expect(isWithin('/a/ws', '/a/ws-evil/x')).toBe(false);
    expect(isWithin('/a/ws', '/a')).toBe(false);
    expect(isWithin('/a/ws', '/a/ws/wingman/..x')).toBe(true);
  });

  // A name that merely starts with two dots is not a climb out.
  test('a top-level file named `..x` is inside', () => {
    expect(isWithin('/a/ws', '/a/ws/..x')).toBe(true);
  });

  test('resolveInside keeps `../ws` (the workspace itself) inside', () => {
    expect(resolveInside(ws, '../ws')).toBe(ws);
  });
});

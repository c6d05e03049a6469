// writeAtomic: the order of the calls that make a write durable, on real files through a recording fs.
import * as fsp from 'node:fs/promises';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeAtomic, type AtomicFs } from '../../../src/activities/write-atomic.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'write-atomic-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** The real fs/promises, recording each call that matters as "<call> <path relative to dir>". */
function recordingFs(calls: string[], failRename = false): AtomicFs {
  const rel = (p: unknown) => path.relative(dir, String(p)).replace(/\.[0-9a-f-]{36}\.tmp$/, '.<uuid>.tmp') || '.';
  const open = (async (file: fsp.FileHandle | string, flags?: string, mode?: number) => {
    const fh = await fsp.open(file as string, flags, mode);
    const name = rel(file);
    calls.push(`open ${name}`);
    return new Proxy(fh, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (prop === 'writeFile' || prop === 'sync' || prop === 'close' || prop === 'chmod')
            calls.push(`${prop} ${name}`);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }) as unknown as typeof fsp.open;
  return {
    mkdir: fsp.mkdir,
    open,
    rename: (async (from: string, to: string) => {
      calls.push(`rename ${rel(from)} -> ${rel(to)}`);
      if (failRename) throw new Error('rename refused');
      return fsp.rename(from, to);
    }) as typeof fsp.rename,
    rm: (async (p: string, o?: Parameters<typeof fsp.rm>[1]) => {
      calls.push(`rm ${rel(p)}`);
      return fsp.rm(p, o);
    }) as typeof fsp.rm,
  };
}

test('write, fsync(file), close, rename, then fsync(directory)', async () => {
  const calls: string[] = [];
  const file = path.join(dir, 'sub', 'a.json');
  await writeAtomic(file, '{"a":1}', { fs: recordingFs(calls) });
  expect(calls).toEqual([
    'open sub/.a.json.<uuid>.tmp',
    'writeFile sub/.a.json.<uuid>.tmp',
    'sync sub/.a.json.<uuid>.tmp',
    'close sub/.a.json.<uuid>.tmp',
    'rename sub/.a.json.<uuid>.tmp -> sub/a.json',
    'open sub',
    'sync sub',
    'close sub',
  ]);
  expect(await readFile(file, 'utf8')).toBe('{"a":1}');
  expect(await readdir(path.join(dir, 'sub'))).toEqual(['a.json']);
});

test('a mode is applied before the fsync', async () => {
  const calls: string[] = [];
  const file = path.join(dir, 'run.sh');
  await writeAtomic(file, Buffer.from('#!/bin/sh\n'), { mode: 0o755, fs: recordingFs(calls) });
  expect(calls.slice(1, 4)).toEqual([
    'writeFile .run.sh.<uuid>.tmp',
    'chmod .run.sh.<uuid>.tmp',
    'sync .run.sh.<uuid>.tmp',
  ]);
  expect((await stat(file)).mode & 0o777).toBe(0o755);
});

test('a failed rename removes the temp file and syncs nothing more', async () => {
  const calls: string[] = [];
  await expect(writeAtomic(path.join(dir, 'b.txt'), 'x', { fs: recordingFs(calls, true) })).rejects.toThrow(
    'rename refused',
  );
  expect(calls.slice(-2)).toEqual(['rename .b.txt.<uuid>.tmp -> b.txt', 'rm .b.txt.<uuid>.tmp']);
  expect(await readdir(dir)).toEqual([]);
});

test('a directory made once is not made again, and is made again when it went away', async () => {
  const target = path.join(dir, 'a', 'b', 'file.txt');
  await writeAtomic(target, 'one');
  await writeAtomic(target, 'two');
  expect(await readFile(target, 'utf8')).toBe('two');
  await rm(path.join(dir, 'a'), { recursive: true });
  await writeAtomic(target, 'three');
  expect(await readFile(target, 'utf8')).toBe('three');
  expect((await readdir(path.dirname(target))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});

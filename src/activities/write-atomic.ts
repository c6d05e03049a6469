// Write a whole file or nothing, and make it last: a reader (or a crash) never sees half of it, and
// after a power loss the file is either the old one or the new one, never empty. Without the fsync
// of the file, the rename can reach the disk before the data; without the fsync of the directory,
// the rename itself can be lost. Every file the orchestrator writes (artifacts, the LLM cache, the
// manifest, results, reports, deliverables) goes through here.
import { randomUUID } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';

/** The fs/promises functions used here (tests pass a recording stand-in). */
export interface AtomicFs {
  mkdir: typeof fsp.mkdir;
  open: typeof fsp.open;
  rename: typeof fsp.rename;
  rm: typeof fsp.rm;
}

export interface WriteOptions {
  /** File mode, applied after the write (the umask may have narrowed it). Default 0o644. */
  mode?: number;
  fs?: AtomicFs;
}

/** Directories this process made or found: a worker writes thousands of files into a few of them. */
const madeDirs = new Set<string>();

export async function writeAtomic(file: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  const fs = opts.fs ?? fsp;
  const dir = path.dirname(file);
  // A dot name in the same directory: same file system (rename is atomic), and no tool picks it up.
  const tmp = path.join(dir, `.${path.basename(file)}.${randomUUID()}.tmp`);
  try {
    const fh = await openNew(fs, dir, tmp, opts.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      if (opts.mode !== undefined) await fh.chmod(opts.mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(fs, dir);
}

/** Creates tmp, making its directory first unless this process already did (or it went away since). */
async function openNew(fs: AtomicFs, dir: string, tmp: string, mode: number): Promise<fsp.FileHandle> {
  const known = fs === fsp && madeDirs.has(dir);
  if (!known) await fs.mkdir(dir, { recursive: true });
  try {
    const fh = await fs.open(tmp, 'wx', mode);
    if (fs === fsp) madeDirs.add(dir);
    return fh;
  } catch (err) {
    if (!known || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    madeDirs.delete(dir);
    await fs.mkdir(dir, { recursive: true });
    return fs.open(tmp, 'wx', mode);
  }
}

/** fsync of a directory: makes the entries created or renamed in it durable. */
async function syncDir(fs: AtomicFs, dir: string): Promise<void> {
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

// Writes generated files into the workspace: inside it only, atomically and durably (write-atomic.ts),
// keeping the previous version, and never twice: a retried or resumed activity that finds the file
// already holding this content leaves it alone.
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { sha256, type ArtifactStore } from './artifacts.js';
import type { Config } from '../config.js';
import { PathError, resolveInside } from '../instructions/paths.js';
import { WriteRequest, type WrittenFile } from '../schemas.js';
import { writeAtomic } from './write-atomic.js';

export async function writeDeliverables(
  deps: { config: Config; store: ArtifactStore },
  input: { workspace: string; files: Array<{ path: string; ref: string }> },
): Promise<{ written: WrittenFile[] }> {
  const req = WriteRequest.parse(input);
  const written: WrittenFile[] = [];
  for (const f of req.files) {
    let target: string;
    try {
      target = resolveInside(req.workspace, f.path);
    } catch (e) {
      if (e instanceof PathError) throw ApplicationFailure.nonRetryable(e.message, 'PathOutsideWorkspace');
      throw e;
    }
    const content = Buffer.from(await deps.store.get(f.ref), 'utf8');
    const sha = sha256(content);
    const old = await existing(target);
    if (old?.dir) throw ApplicationFailure.nonRetryable(`${f.path} is a directory`, 'NotAFile');
    if (old && old.sha === sha) {
      // Already there (a retry after a crash, or the LLM wrote the same code): do not touch it.
      written.push({ path: f.path, sha256: sha, bytes: content.length, previous: sha });
      continue;
    }
    let previous: string | null = null;
    if (old) {
      previous = old.sha;
      await atomicWrite(path.join(deps.config.stateDir, 'previous', old.sha), old.bytes, 0o644, true);
    }
    // Keep an existing file's mode (an executable script stays executable); a new script with a shebang is executable.
    const mode = old?.mode ?? (content.subarray(0, 2).toString() === '#!' ? 0o755 : 0o644);
    await atomicWrite(target, content, mode, false);
    written.push({ path: f.path, sha256: sha, bytes: content.length, previous });
  }
  return { written };
}

async function existing(file: string): Promise<{ sha: string; bytes: Buffer; mode: number; dir?: boolean } | null> {
  let st;
  try {
    st = await lstat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  if (st.isDirectory()) return { sha: '', bytes: Buffer.alloc(0), mode: 0, dir: true };
  // resolveInside has checked a symlink leads inside; what it points at is the previous content,
  // and the rename below replaces the link itself rather than writing through it.
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null; // a dangling link
    throw e;
  }
  return { sha: sha256(bytes), bytes, mode: st.isSymbolicLink() ? 0o644 : st.mode & 0o7777 };
}

/** Atomic and durable (write-atomic.ts); content-addressed copies are written once. */
async function atomicWrite(target: string, bytes: Buffer, mode: number, skipIfExists: boolean): Promise<void> {
  if (skipIfExists && (await lstat(target).catch(() => null))) return; // content-addressed: same name, same bytes
  await writeAtomic(target, bytes, { mode });
}

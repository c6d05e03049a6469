// A content-addressed store for the large things a worker handles (prompts, LLM output, test
// logs). Workflows pass the sha256 reference; the text stays on disk, out of the history.
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from './write-atomic.js';

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ArtifactStore {
  constructor(readonly root: string) {}

  private fileFor(ref: string): string {
    if (!/^[0-9a-f]{64}$/.test(ref)) throw new Error(`not an artifact reference: ${ref}`);
    return path.join(this.root, ref.slice(0, 2), ref);
  }

  async put(text: string): Promise<string> {
    const ref = sha256(text);
    await writeAtomic(this.fileFor(ref), text);
    return ref;
  }

  async has(ref: string): Promise<boolean> {
    return access(this.fileFor(ref)).then(
      () => true,
      () => false,
    );
  }

  async get(ref: string): Promise<string> {
    return readFile(this.fileFor(ref), 'utf8');
  }
}

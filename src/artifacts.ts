// A content-addressed store for the large things a worker handles (prompts, LLM output, test
// logs). Workflows pass the sha256 reference; the text stays on disk, out of the history.
import { createHash, randomUUID } from 'node:crypto';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

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
    const file = this.fileFor(ref);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, file);
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

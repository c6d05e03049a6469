// The shared instruction corpus beside the checkout (../shared/corpus), or WINGMAN_CORPUS_DIR.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './cli.js';

export function corpusDir(): string {
  const candidates = [process.env.WINGMAN_CORPUS_DIR, path.resolve(repoRoot, '../shared/corpus')].filter(
    Boolean,
  ) as string[];
  const found = candidates.find((d) => existsSync(path.join(d, 'invalid')));
  if (!found) throw new Error(`shared corpus not found (looked in ${candidates.join(', ')}); set WINGMAN_CORPUS_DIR`);
  return found;
}

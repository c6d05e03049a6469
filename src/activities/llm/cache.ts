// The generation cache: answers already paid for, keyed by provider, model and prompt, so a
// batch re-run after fixing the test environment pays nothing for what it already has.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256 } from '../artifacts.js';
import { writeAtomic } from '../write-atomic.js';
import type { Provider, Tokens } from '../../schemas.js';

export interface CachedGeneration {
  outputRef: string;
  model: string;
  tokens: Tokens;
  costUsd: number;
}

export class GenerationCache {
  constructor(readonly dir: string) {}

  key(provider: Provider, model: string, promptRef: string): string {
    return sha256(JSON.stringify([provider, model, promptRef]));
  }

  async get(key: string): Promise<CachedGeneration | null> {
    try {
      return JSON.parse(await readFile(path.join(this.dir, `${key}.json`), 'utf8')) as CachedGeneration;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async put(key: string, value: CachedGeneration): Promise<void> {
    await writeAtomic(path.join(this.dir, `${key}.json`), JSON.stringify(value));
  }
}

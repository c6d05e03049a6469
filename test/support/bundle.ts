// The project's workflow bundle, built once per jest run for the test files that run workflows:
// webpack spends seconds of CPU on each bundle. Jest's globalSetup (test/global-setup.ts) names an
// empty directory for the run; the first test file to ask builds the bundle there, with the project's
// own bundleWorkflows (the same entry and webpack config hook as the worker), and the others read
// it. Nothing else is shared: every file still runs its own server and workers. Outside jest (no
// directory named) every caller bundles for itself.
import type { WorkflowBundle } from '@temporalio/worker';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '../../src/activities/write-atomic.js';
import { bundleWorkflows } from '../../src/temporal/bundle.js';
import { BUNDLE_DIR_VARIABLE } from '../global-setup.js';
import { waitFor } from './wait.js';

/** The workflow bundle of src/workflows, built by the first caller of the run. */
export async function workflowBundle(): Promise<WorkflowBundle> {
  const dir = process.env[BUNDLE_DIR_VARIABLE];
  if (!dir) return bundleWorkflows();
  const code = path.join(dir, 'workflows.js');
  const failed = path.join(dir, 'failed.txt');
  if (claim(path.join(dir, 'building'))) {
    try {
      const bundle = await bundleWorkflows();
      await writeAtomic(code, bundle.code);
      return { code: bundle.code };
    } catch (err) {
      writeFileSync(failed, (err as Error).stack ?? String(err));
      throw err;
    }
  }
  await waitFor(() => existsSync(code) || existsSync(failed), {
    timeoutMs: 110_000, // within jest's hook timeout, so this message is the one shown
    intervalMs: 100,
    what: `the workflow bundle another test file is building in ${dir}`,
  });
  if (existsSync(failed)) throw new Error(`bundling the workflows failed:\n${readFileSync(failed, 'utf8')}`);
  return { code: readFileSync(code, 'utf8') };
}

/** Whether this process created the file (exclusively), i.e. is the one to build. */
function claim(file: string): boolean {
  try {
    closeSync(openSync(file, 'wx'));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

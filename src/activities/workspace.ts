// The activities of the workspace task queue (files, tests, memory), bound to one process's
// configuration and artifact store. Each runs on the host that holds the checkout.
import { ApplicationFailure } from '@temporalio/common';
import { ZodError } from 'zod';
import type { ArtifactStore } from './artifacts.js';
import type { Config } from '../config.js';
import { InstructionError } from '../instructions/parse.js';
import { PathError } from '../instructions/paths.js';
import { checkCriteria } from './criteria.js';
import { writeDeliverables } from './files.js';
import { inspectOutput } from './guide.js';
import { storeRetrospective } from './memory.js';
import { preparePrompt } from './prompt.js';
import { runTests } from './tests.js';
import type { WorkspaceActivities } from './types.js';

export interface WorkspaceDeps {
  config: Config;
  store: ArtifactStore;
}

/** Bad input, a path outside the workspace or a broken instruction fails the same way every time: do not retry it. */
export function deterministic<A, R>(fn: (a: A) => Promise<R>): (a: A) => Promise<R> {
  return async (a) => {
    try {
      return await fn(a);
    } catch (e) {
      if (e instanceof ZodError)
        throw ApplicationFailure.nonRetryable(`bad activity input: ${e.message}`, 'BadRequest');
      if (e instanceof PathError) throw ApplicationFailure.nonRetryable(e.message, 'PathOutsideWorkspace');
      if (e instanceof InstructionError) throw ApplicationFailure.nonRetryable(e.message, 'InstructionInvalid');
      throw e;
    }
  };
}

export function createWorkspaceActivities(deps: WorkspaceDeps): WorkspaceActivities {
  return {
    preparePrompt: deterministic((req) => preparePrompt(deps, req)),
    inspectOutput: deterministic((req) => inspectOutput(deps, req)),
    writeDeliverables: deterministic((req) => writeDeliverables(deps, req)),
    runTests: deterministic((req) => runTests(deps, req)),
    checkCriteria: deterministic((req) => checkCriteria(deps, req)),
    storeRetrospective: (r) => storeRetrospective(deps, r),
  };
}

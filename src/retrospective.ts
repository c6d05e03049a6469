// What a worker's retrospective says, from its result. Plain code with type-only imports, so
// the worker workflow and the activity that stores it build the same one.
import type { Retrospective, WorkerResult } from './schemas.js';

export function retrospectiveOf(batchId: string, result: WorkerResult): Retrospective {
  return {
    batchId,
    workerId: result.id,
    name: result.name,
    outcome: result.outcome,
    provider: result.provider,
    attempts: result.attempts,
    files: result.files,
    notes: [result.error ?? '', `tests passed ${result.tests.passed}, failed ${result.tests.failed}`].filter(Boolean),
  };
}

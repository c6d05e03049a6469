// An instruction's result before anything has happened to it: what the workflow starts from, and
// what the report lists for a worker that never recorded one. Pure, so workflow code may use it.
import type { InstructionResult, Outcome } from '../../schemas.js';

type Timeless = Omit<InstructionResult, 'startedAt' | 'finishedAt'>;

export function blankResult(
  id: string,
  name: string,
  outcome: Outcome,
  lastStep: string,
  error: string | null,
): Timeless {
  return {
    id,
    name,
    outcome,
    provider: null,
    model: null,
    attempts: 0,
    files: [],
    tests: { passed: 0, failed: 0 },
    tokens: { prompt: 0, completion: 0 },
    costUsd: 0,
    durationMs: 0,
    error,
    lastStep,
    cacheHits: 0,
    savedUsd: 0,
    outputRef: null,
    instructionSha256: null,
    testOutputRef: null,
    failures: [],
    changes: null,
  };
}

// What an instruction asks of its activities, built from its manifest entry, its requests and its
// result. Plain code with type-only imports: the instruction workflow (a regeneration's prompt)
// and the activities that make up its steps (instruction-steps.ts) build the same requests.
import type {
  CriteriaRequest,
  Feedback,
  ManifestEntry,
  PromptRequest,
  Retrospective,
  TestRun,
  CheckRequest,
  InstructionResult,
} from '../../schemas.js';

/** The prompt for an entry: the first one (no feedback), or a regeneration's. */
export function promptRequestFor(
  entry: ManifestEntry,
  where: { dependencyFiles: string[]; workspace: string; pythonRoot: string },
  feedback: Feedback | null,
): PromptRequest {
  return {
    workerId: entry.id,
    instructionFile: entry.file,
    instructionSha256: entry.sha256,
    deliverables: entry.deliverables,
    dependencyFiles: where.dependencyFiles,
    workspace: where.workspace,
    pythonRoot: where.pythonRoot,
    feedback,
  };
}

/** The success criteria check after a test run passed. */
export function criteriaRequestFor(req: CheckRequest, run: TestRun): CriteriaRequest {
  return {
    workerId: req.workerId,
    instructionFile: req.instructionFile,
    workspace: req.workspace,
    pythonRoot: req.pythonRoot,
    deliverables: req.deliverables,
    tests: { passed: run.passed, failed: run.failed },
  };
}

/** What a worker's retrospective says, from its result. */
export function retrospectiveOf(batchId: string, result: InstructionResult): Retrospective {
  return {
    batchId,
    workerId: result.id,
    name: result.name,
    outcome: result.outcome,
    provider: result.provider,
    attempts: result.attempts,
    files: result.files,
    notes: [result.error ?? '', `tests passed ${result.tests.passed}, failed ${result.tests.failed}`].filter(Boolean),
    model: result.model,
    tokens: result.tokens,
    costUsd: result.costUsd,
    durationMs: result.durationMs,
    tests: result.tests,
    error: result.error,
    failures: result.failures ?? [],
    changes: result.changes ?? null,
    instructionSha256: result.instructionSha256,
    testOutputRef: result.testOutputRef,
  };
}

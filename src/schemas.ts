// Contracts shared by the starter, the workflows and the activities.
// Workflow code imports these as types only; everything that crosses a workflow boundary is
// small (ids, paths, hashes, counts), never whole files or prompts.
import { z } from 'zod';

export const Provider = z.enum(['openai', 'ollama', 'processor']);
export type Provider = z.infer<typeof Provider>;

export const Outcome = z.enum(['passed', 'failed', 'guide', 'llm_timeout', 'error', 'skipped']);
export type Outcome = z.infer<typeof Outcome>;
export const OUTCOMES = Outcome.options;

export const Tokens = z.object({ prompt: z.number().int().nonnegative(), completion: z.number().int().nonnegative() });
export type Tokens = z.infer<typeof Tokens>;

/** One instruction as the batch knows it: enough to schedule it and to find it again. */
export const ManifestEntry = z.object({
  id: z.string().regex(/^WORKER_\d+$/),
  name: z.string(),
  /** Absolute path of the instruction file. */
  file: z.string(),
  /** sha256 of the file's bytes: the child refuses to run an instruction that changed since the start. */
  sha256: z.string().length(64),
  /** Deliverable paths, relative to the workspace root. */
  deliverables: z.array(z.string()).min(1),
  /** Worker ids that must pass first. */
  dependencies: z.array(z.string()),
  /** Primary provider, from TASK_CLASSIFICATION's `LLM:` line. */
  provider: Provider,
  /** TEST_PROCESS commands, each already split into argv and checked against the allowed runners. */
  testCommands: z.array(z.array(z.string()).min(1)),
  /** `--replay-from`: the code an earlier batch generated for this worker, used instead of a first LLM call. */
  replay: z.object({ outputRef: z.string(), provider: z.enum(['openai', 'ollama', 'processor']), model: z.string(), savedUsd: z.number() }).nullable().default(null),
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

export const Thresholds = z.object({
  minSample: z.number().int().nonnegative(),
  guideRate: z.number().min(0).max(1),
  failedRate: z.number().min(0).max(1),
  llmTimeoutRate: z.number().min(0).max(1),
});
export type Thresholds = z.infer<typeof Thresholds>;

/** Retry and timeout settings for LLM calls; in the workflow input because retry policies live in workflow code. */
export const LlmPolicy = z.object({
  timeoutMs: z.number().int().positive(),
  heartbeatMs: z.number().int().positive(),
  maxAttempts: z.number().int().positive(),
  initialRetryMs: z.number().int().positive(),
  maxRetryMs: z.number().int().positive(),
});
export type LlmPolicy = z.infer<typeof LlmPolicy>;

export const BatchOptions = z.object({
  /** Absolute path of the workspace root; every write stays inside it. */
  workspace: z.string(),
  /** The Python root relative to the workspace (`wingman`): tests run there, imports are computed from it. */
  pythonRoot: z.string(),
  concurrency: z.number().int().positive(),
  budgetUsd: z.number().nonnegative(),
  thresholds: Thresholds,
  llm: LlmPolicy,
  /** Providers configured on the workers, in fallback order after the primary. */
  providers: z.array(Provider).min(1),
  /** Absolute path of the JSON report. */
  reportPath: z.string(),
  /** Task queue of the workspace activities (files, tests, memory). */
  workspaceQueue: z.string(),
  /** Task queue of each provider's LLM activities (contract 6): a batch of start-batch's has its own. */
  llmQueues: z.record(Provider, z.string()),
  /** Reuse generations already paid for, keyed by provider, model and prompt (opt-in). */
  cache: z.boolean(),
});
export type BatchOptions = z.infer<typeof BatchOptions>;

/**
 * The manifest, saved content-addressed by the starter on the workspace host. Workflows pass
 * this reference instead of the entries: 10,000 entries would not fit in one payload.
 */
export const ManifestRef = z.object({ file: z.string(), sha256: z.string().length(64), total: z.number().int() });
export type ManifestRef = z.infer<typeof ManifestRef>;

/** What the parent needs to schedule a worker: no paths to instructions, no commands. */
export const PlanEntry = ManifestEntry.pick({ id: true, name: true, dependencies: true, deliverables: true, provider: true });
export type PlanEntry = z.infer<typeof PlanEntry>;

/** What the parent carries from one run to the next when it continues as new. */
export const BatchState = z.object({
  startedAt: z.string(),
  counts: z.record(Outcome, z.number().int()),
  costUsd: z.number(),
  tokens: Tokens,
  /** Outcome of every worker that has ended. */
  outcomes: z.record(z.string(), Outcome),
  /** Workers started and not yet reported back. */
  running: z.array(z.string()),
  notRun: z.array(z.object({ id: z.string(), reason: z.string() })),
  concurrency: z.number().int(),
  paused: z.boolean(),
  abortReason: z.string().nullable(),
  /** How many runs came before this one (continue-as-new). */
  runs: z.number().int(),
});
export type BatchState = z.infer<typeof BatchState>;

export const BatchInput = z.object({
  batchId: z.string(),
  manifest: ManifestRef,
  options: BatchOptions,
  state: BatchState.optional(),
});
export type BatchInput = z.infer<typeof BatchInput>;

/** Input of one child workflow. */
export const InstructionInput = z.object({
  batchId: z.string(),
  workerId: z.string(),
  manifest: ManifestRef,
  /** Deliverables of the workers this one depends on: their public names go into the prompt. */
  dependencyFiles: z.array(z.string()),
  options: BatchOptions,
});
export type InstructionInput = z.infer<typeof InstructionInput>;

/** What a finished worker signals to its batch (the batch may have continued as new since it started the worker). */
export const InstructionDone = z.object({ id: z.string(), outcome: Outcome, costUsd: z.number(), tokens: Tokens });
export type InstructionDone = z.infer<typeof InstructionDone>;

export const TestCounts = z.object({ passed: z.number().int(), failed: z.number().int() });

export const InstructionResult = z.object({
  id: z.string(),
  name: z.string(),
  outcome: Outcome,
  /** The provider that produced the final code (null when none did). */
  provider: Provider.nullable(),
  model: z.string().nullable(),
  /** LLM generations made (each fallback or regeneration counts one). */
  attempts: z.number().int(),
  files: z.array(z.string()),
  tests: TestCounts,
  tokens: Tokens,
  costUsd: z.number(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  error: z.string().nullable(),
  /** The last step the worker reached, for a person reading the report or the Web UI. */
  lastStep: z.string(),
  /** Generations served from the cache (or an earlier batch), and what they would have cost. */
  cacheHits: z.number().int(),
  savedUsd: z.number(),
  /** The LLM answer the files came from, and the instruction it answered: `--replay-from` reuses it. */
  outputRef: z.string().nullable(),
  instructionSha256: z.string().nullable(),
  /** The whole output of the last test run, in the artifact store. */
  testOutputRef: z.string().nullable(),
});
export type InstructionResult = z.infer<typeof InstructionResult>;

export const Counts = z.object(Object.fromEntries(OUTCOMES.map((o) => [o, z.number().int()])) as Record<Outcome, z.ZodNumber>);
export type Counts = Record<Outcome, number>;

export const Progress = z.object({
  batchId: z.string(),
  state: z.enum(['running', 'paused', 'aborting', 'completed', 'aborted']),
  total: z.number().int(),
  counts: Counts,
  running: z.array(z.string()),
  concurrency: z.number().int(),
  costUsd: z.number(),
  tokens: Tokens,
  startedAt: z.string(),
  abortReason: z.string().nullable(),
});
export type Progress = z.infer<typeof Progress>;

export const BatchSummary = z.object({
  batchId: z.string(),
  status: z.enum(['completed', 'aborted']),
  abortReason: z.string().nullable(),
  counts: Counts,
  costUsd: z.number(),
  tokens: Tokens,
  startedAt: z.string(),
  finishedAt: z.string(),
  reportPath: z.string(),
});
export type BatchSummary = z.infer<typeof BatchSummary>;

/** The JSON report, as the CLI contract defines it. */
export const Report = BatchSummary.omit({ reportPath: true }).extend({
  cache: z.object({ hits: z.number().int(), savedUsd: z.number() }),
  workers: z.array(InstructionResult.omit({ startedAt: true, finishedAt: true }).extend({
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })),
});
export type Report = z.infer<typeof Report>;

// ---- activity payloads ----

/** Where a retry prompt learns what went wrong last time. */
export const Feedback = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('guide'), markers: z.array(z.string()) }),
  z.object({ kind: z.literal('tests'), outputRef: z.string(), summary: z.string() }),
]);
export type Feedback = z.infer<typeof Feedback>;

export const PromptRequest = z.object({
  workerId: z.string(),
  instructionFile: z.string(),
  instructionSha256: z.string(),
  deliverables: z.array(z.string()),
  dependencyFiles: z.array(z.string()),
  workspace: z.string(),
  pythonRoot: z.string(),
  feedback: Feedback.nullable(),
});
export type PromptRequest = z.infer<typeof PromptRequest>;

export const PromptRef = z.object({ promptRef: z.string(), chars: z.number().int() });
export type PromptRef = z.infer<typeof PromptRef>;

export const GenerateRequest = z.object({
  workerId: z.string(),
  promptRef: z.string(),
  timeoutMs: z.number().int().positive(),
  /** Look the prompt up in the generation cache first, and store the answer there. */
  cache: z.boolean(),
});
export type GenerateRequest = z.infer<typeof GenerateRequest>;

export const Generation = z.object({
  provider: Provider,
  model: z.string(),
  outputRef: z.string(),
  tokens: Tokens,
  costUsd: z.number(),
  durationMs: z.number(),
  /** Served from the generation cache or an earlier batch: no call made, nothing paid. */
  cached: z.boolean(),
  /** What the cached answer cost when it was first paid for. */
  savedUsd: z.number(),
});
export type Generation = z.infer<typeof Generation>;

export const FileRef = z.object({ path: z.string(), ref: z.string() });
export type FileRef = z.infer<typeof FileRef>;

export const Inspection = z.object({
  guide: z.boolean(),
  /** Why it is a guide: the prose markers found, a missing file, code that does not parse. */
  markers: z.array(z.string()),
  files: z.array(FileRef),
});
export type Inspection = z.infer<typeof Inspection>;

export const WriteRequest = z.object({ workspace: z.string(), files: z.array(FileRef) });
export const WrittenFile = z.object({ path: z.string(), sha256: z.string(), bytes: z.number().int(), previous: z.string().nullable() });
export type WrittenFile = z.infer<typeof WrittenFile>;

export const TestRequest = z.object({
  workerId: z.string(),
  workspace: z.string(),
  pythonRoot: z.string(),
  commands: z.array(z.array(z.string())),
});
export type TestRequest = z.infer<typeof TestRequest>;

export const TestRun = z.object({
  ok: z.boolean(),
  passed: z.number().int(),
  failed: z.number().int(),
  /** The tail of the output (a few KB at most); the whole output is behind outputRef. */
  summary: z.string(),
  outputRef: z.string(),
  timedOut: z.boolean(),
});
export type TestRun = z.infer<typeof TestRun>;

export const CriteriaRequest = z.object({
  workerId: z.string(),
  instructionFile: z.string(),
  workspace: z.string(),
  pythonRoot: z.string(),
  deliverables: z.array(z.string()),
  tests: TestCounts,
});
export type CriteriaRequest = z.infer<typeof CriteriaRequest>;

export const CriterionResult = z.object({
  criterion: z.string(),
  status: z.enum(['met', 'unmet', 'unchecked']),
  detail: z.string(),
});
export const CriteriaCheck = z.object({ ok: z.boolean(), results: z.array(CriterionResult) });
export type CriteriaCheck = z.infer<typeof CriteriaCheck>;

export const Retrospective = z.object({
  batchId: z.string(),
  workerId: z.string(),
  name: z.string(),
  outcome: Outcome,
  provider: Provider.nullable(),
  attempts: z.number().int(),
  files: z.array(z.string()),
  notes: z.array(z.string()),
});
export type Retrospective = z.infer<typeof Retrospective>;

// ---- the worker's merged steps (one activity each; see activities/worker-steps.ts) ----

/** Loads the worker's manifest entry and writes its first prompt. */
export const BeginRequest = PromptRequest.pick({ workerId: true, dependencyFiles: true, workspace: true, pythonRoot: true }).extend({
  manifest: ManifestRef,
});
export type BeginRequest = z.infer<typeof BeginRequest>;
export const Begun = z.object({ entry: ManifestEntry, prompt: PromptRef });
export type Begun = z.infer<typeof Begun>;

/** Inspects an answer and, when it is code, writes its files. */
export const AcceptRequest = z.object({ outputRef: z.string(), deliverables: z.array(z.string()), workspace: z.string() });
export type AcceptRequest = z.infer<typeof AcceptRequest>;
export const Acceptance = Inspection.extend({ written: z.array(WrittenFile) });
export type Acceptance = z.infer<typeof Acceptance>;

/** Runs the tests and, when they pass, checks the success criteria. */
export const VerifyRequest = TestRequest.extend({ instructionFile: z.string(), deliverables: z.array(z.string()) });
export type VerifyRequest = z.infer<typeof VerifyRequest>;
export const Verification = z.object({ tests: TestRun, criteria: CriteriaCheck.nullable() });
export type Verification = z.infer<typeof Verification>;

/** Records the worker's result for the report, then its retrospective. */
export const FinishRequest = z.object({ reportPath: z.string(), batchId: z.string(), result: InstructionResult });
export type FinishRequest = z.infer<typeof FinishRequest>;


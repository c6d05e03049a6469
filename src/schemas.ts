// Contracts shared by the starter, the workflows and the activities.
// Workflow code imports these as types only. The batch's inputs and results are small (ids, paths,
// hashes, counts); prompts, answers and test logs pass between activities as Blobs.
import { z } from 'zod';

export const Provider = z.enum(['openai', 'ollama', 'processor']);
export type Provider = z.infer<typeof Provider>;

export const Outcome = z.enum(['passed', 'failed', 'guide', 'llm_timeout', 'error', 'skipped']);
export type Outcome = z.infer<typeof Outcome>;
export const OUTCOMES = Outcome.options;

export const Tokens = z.object({ prompt: z.number().int().nonnegative(), completion: z.number().int().nonnegative() });
export type Tokens = z.infer<typeof Tokens>;

/**
 * A text passed between activities (a prompt, an LLM answer, a test log). Small ones travel inline,
 * in the payload (the payload codec compresses it); larger ones by claim check: `sha256` names it in
 * the blob store, `store` says which (this host's directory, or the shared S3-compatible bucket).
 */
export const Blob = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** UTF-8 size of the text; null when not known (an answer named by an earlier batch's report). */
  bytes: z.number().int().nonnegative().nullable(),
  inline: z.string().nullable(),
  store: z.enum(['local', 's3']).nullable(),
});
export type Blob = z.infer<typeof Blob>;

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
  replay: z
    .object({
      outputRef: Blob,
      provider: z.enum(['openai', 'ollama', 'processor']),
      model: z.string(),
      savedUsd: z.number(),
    })
    .nullable()
    .default(null),
  /** The planner's estimate of one generation on the dearest provider of its chain: budget is reserved by it. */
  generationEstimateUsd: z.number().nonnegative().default(0),
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

export const Thresholds = z.object({
  minSample: z.number().int().nonnegative(),
  guideRate: z.number().min(0).max(1),
  failedRate: z.number().min(0).max(1),
  llmTimeoutRate: z.number().min(0).max(1),
  errorRate: z.number().min(0).max(1),
});
export type Thresholds = z.infer<typeof Thresholds>;

/** Retry and timeout settings for LLM calls; in the workflow input because retry policies live in workflow code. */
export const LlmPolicy = z.object({
  timeoutMs: z.number().int().positive(),
  heartbeatMs: z.number().int().positive(),
  maxAttempts: z.number().int().positive(),
  initialRetryMs: z.number().int().positive(),
  maxRetryMs: z.number().int().positive(),
  /** How long an LLM call may wait for a worker to pick it up before the next provider is tried (default 5 min). */
  scheduleToStartMs: z.number().int().positive().optional(),
  /** Sent to every provider (WINGMAN_LLM_TEMPERATURE, default 0.1, the original's). */
  temperature: z.number().min(0).max(2),
  /** Completion token limit sent to every provider (WINGMAN_LLM_MAX_TOKENS, default 4000, the original's). */
  maxTokens: z.number().int().positive(),
});
export type LlmPolicy = z.infer<typeof LlmPolicy>;

export const DEFAULT_LLM_QUEUES: Record<Provider, string> = {
  openai: 'llm-openai',
  ollama: 'llm-ollama',
  processor: 'llm-processor',
};

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
  /** The whole test suite, run once in the Python root after the last worker (`--suite CMD`); null: `--no-suite`. */
  suite: z
    .object({ command: z.array(z.string()).min(1) })
    .nullable()
    .optional(),
  /** How the batch paces itself; tests lower these to reach continue-as-new and child checks quickly. */
  limits: z
    .object({
      /** Continue as new past this many history events or bytes. */
      historyEvents: z.number().int().positive(),
      historyBytes: z.number().int().positive(),
      /** How often to look at running children this run did not start (they may have ended without a word). */
      childCheckMs: z.number().int().positive(),
      /** After an abort, how long running children get to stop before they are terminated. */
      abortGraceMs: z.number().int().positive(),
    })
    .partial()
    .optional(),
});
export type BatchOptions = z.infer<typeof BatchOptions>;

/**
 * The manifest, saved content-addressed by the starter on the workspace host. Workflows pass
 * this reference instead of the entries: 10,000 entries would not fit in one payload.
 */
export const ManifestRef = z.object({ file: z.string(), sha256: z.string().length(64), total: z.number().int() });
export type ManifestRef = z.infer<typeof ManifestRef>;

/** What the parent needs to schedule a worker: no paths to instructions, no commands. */
export const PlanEntry = ManifestEntry.pick({
  id: true,
  name: true,
  dependencies: true,
  deliverables: true,
  provider: true,
  generationEstimateUsd: true,
});
export type PlanEntry = z.infer<typeof PlanEntry>;

/**
 * One page of the plan as the batch workflow loads it, compact so 50,000 instructions stay far
 * below Temporal's 2 MB payload limit in a handful of pages. Entries are in dependency order
 * (the plan index is the start order); everything points at plan indices, never repeats ids.
 */
export const PlanPage = z.object({
  total: z.number().int().nonnegative(),
  /** Plan index of the page's first entry. */
  start: z.number().int().nonnegative(),
  /** The entries' ids, separated by single spaces. */
  ids: z.string(),
  /** Per entry: plan indices of the dependencies that must pass first (always earlier in the plan). */
  deps: z.array(z.array(z.number().int())),
  /** Per entry: plan indices of the earlier writers of the same files, which must have ended first. */
  after: z.array(z.array(z.number().int())),
  /** Per entry, one letter: the primary provider (see PROVIDER_CODES). */
  providers: z.string(),
  /** Per entry: the generation estimate in micro-dollars, rounded up. */
  estimateMicroUsd: z.array(z.number().int().nonnegative()),
});
export type PlanPage = z.infer<typeof PlanPage>;
export const PROVIDER_CODES: Record<Provider, string> = { openai: 'o', ollama: 'l', processor: 'p' };

/** What starting a child needs beyond the graph: fetched a page at a time, just before the children start. */
export const PlanDetail = z.object({
  name: z.string(),
  deliverables: z.array(z.string()),
  dependencyFiles: z.array(z.string()),
});
export type PlanDetail = z.infer<typeof PlanDetail>;

/** Why workers did not run: each reason once, with the plan indices it applies to as ranges (`"3-7,12"`). */
export const NotRun = z.array(z.object({ reason: z.string(), indices: z.string() }));
export type NotRun = z.infer<typeof NotRun>;

/**
 * What the parent carries from one run to the next when it continues as new: compact, so it
 * stays small at 50,000 instructions. Counts are not carried: they are the letters counted.
 */
export const BatchState = z.object({
  startedAt: z.string(),
  costUsd: z.number(),
  tokens: Tokens,
  /** One letter per plan index: the outcome of each ended worker, `r` running, `.` waiting (see ledger.ts). */
  outcomes: z.string(),
  notRun: NotRun,
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
  /** The budget the batch reserved for this instruction (allowance = MAX_GENERATIONS × estimate). */
  budget: z.object({ allowanceUsd: z.number().nonnegative(), generationEstimateUsd: z.number().nonnegative() }),
});
export type InstructionInput = z.infer<typeof InstructionInput>;

/** What a finished worker signals to its batch (the batch may have continued as new since it started the worker). */
export const InstructionDone = z.object({ id: z.string(), outcome: Outcome, costUsd: z.number(), tokens: Tokens });
export type InstructionDone = z.infer<typeof InstructionDone>;

export const TestCounts = z.object({ passed: z.number().int(), failed: z.number().int() });

/** One attempt that did not work, in a sentence (the guide reason, the failing assertion, the criterion not met). */
export const Failure = z.object({
  attempt: z.number().int(),
  kind: z.enum(['guide', 'tests', 'criteria', 'llm']),
  message: z.string(),
});
export type Failure = z.infer<typeof Failure>;

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
  /** Why each attempt failed, one sentence each; `attempt` is the LLM call count (`attempts`) at the time. */
  failures: z.array(Failure).default([]),
  /** What changed between the failed and the passing attempt; null unless it passed after a failure. */
  changes: z.string().nullable().default(null),
});
export type InstructionResult = z.infer<typeof InstructionResult>;

export const Counts = z.object(
  Object.fromEntries(OUTCOMES.map((o) => [o, z.number().int()])) as Record<Outcome, z.ZodNumber>,
);
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

/** The whole suite run once after the last worker (src/activities/suite.ts). */
export const SuiteFailure = z.object({
  test: z.string(),
  message: z.string(),
  /** The workers that wrote the failing test's file or the modules it imports. */
  workers: z.array(z.string()),
});
export const SuiteResult = z.object({
  command: z.string(),
  exitCode: z.number().int(),
  passed: z.number().int(),
  failed: z.number().int(),
  errors: z.number().int(),
  failures: z.array(SuiteFailure),
});
export type SuiteResult = z.infer<typeof SuiteResult>;

export const SuiteRequest = z.object({
  workspace: z.string(),
  pythonRoot: z.string(),
  command: z.array(z.string()).min(1),
  manifest: ManifestRef,
  reportPath: z.string(),
});
export type SuiteRequest = z.infer<typeof SuiteRequest>;

/** The JSON report, as the CLI contract defines it. */
export const Report = BatchSummary.omit({ reportPath: true }).extend({
  cache: z.object({ hits: z.number().int(), savedUsd: z.number() }),
  /** How the workspace host isolated generated code (process/sandbox.ts); null when it could not tell. */
  isolation: z
    .object({ kind: z.enum(['bwrap', 'uid', 'none']), detail: z.string() })
    .nullable()
    .default(null),
  /** The whole suite after the last worker; null when it was not run. */
  suite: SuiteResult.nullable().optional(),
  workers: z.array(
    InstructionResult.omit({ startedAt: true, finishedAt: true }).extend({
      startedAt: z.string().nullable(),
      finishedAt: z.string().nullable(),
    }),
  ),
});
export type Report = z.infer<typeof Report>;

// ---- activity payloads ----

/** Where a retry prompt learns what went wrong last time. */
export const Feedback = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('guide'), markers: z.array(z.string()) }),
  z.object({ kind: z.literal('tests'), outputRef: Blob, summary: z.string() }),
  /** The success criteria not met after the tests passed (an import that does not import). */
  z.object({ kind: z.literal('criteria'), unmet: z.array(z.string()) }),
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

export const PromptRef = z.object({ promptRef: Blob, chars: z.number().int() });
export type PromptRef = z.infer<typeof PromptRef>;

export const GenerateRequest = z.object({
  workerId: z.string(),
  promptRef: Blob,
  timeoutMs: z.number().int().positive(),
  /** Look the prompt up in the generation cache first, and store the answer there. */
  cache: z.boolean(),
  /** The batch's LlmPolicy settings; absent (a batch started before they existed): the worker's own. */
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().optional(),
});
export type GenerateRequest = z.infer<typeof GenerateRequest>;

export const Generation = z.object({
  provider: Provider,
  model: z.string(),
  outputRef: Blob,
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
export const WrittenFile = z.object({
  path: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  previous: z.string().nullable(),
});
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
  outputRef: Blob,
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
  // What a later worker can learn from (src/activities/lessons.ts); optional so older callers still fit.
  model: z.string().nullable().optional(),
  tokens: Tokens.optional(),
  costUsd: z.number().optional(),
  durationMs: z.number().optional(),
  tests: TestCounts.optional(),
  error: z.string().nullable().optional(),
  failures: z.array(Failure).optional(),
  changes: z.string().nullable().optional(),
  /** The instruction (its RETROSPECTIVE questions) and the last test log, both in the artifact store. */
  instructionSha256: z.string().nullable().optional(),
  testOutputRef: z.string().nullable().optional(),
});
export type Retrospective = z.infer<typeof Retrospective>;

// ---- an instruction's workspace steps (activities/instruction-steps.ts) ----

/** Loads the instruction's manifest entry and writes its first prompt (a local activity). */
export const BeginRequest = PromptRequest.pick({
  workerId: true,
  dependencyFiles: true,
  workspace: true,
  pythonRoot: true,
}).extend({
  manifest: ManifestRef,
});
export type BeginRequest = z.infer<typeof BeginRequest>;
export const Begun = z.object({ entry: ManifestEntry, prompt: PromptRef });
export type Begun = z.infer<typeof Begun>;

/** Inspects an answer; when it is code, writes its files, runs the tests and, when they pass, checks the criteria. */
export const CheckRequest = TestRequest.extend({
  outputRef: Blob,
  instructionFile: z.string(),
  deliverables: z.array(z.string()),
});
export type CheckRequest = z.infer<typeof CheckRequest>;
/** A guide has no files, tests or criteria; code has its files and its test run, and criteria when the tests passed. */
export const Check = Inspection.extend({
  written: z.array(WrittenFile),
  tests: TestRun.nullable(),
  criteria: CriteriaCheck.nullable(),
});
export type Check = z.infer<typeof Check>;

/** Records the result for the report and the retrospective, then tells the batch (a local activity). */
export const FinishRequest = z.object({
  reportPath: z.string(),
  batchId: z.string(),
  /** The batch's workflow id, told of the end by signal; null for an instruction run on its own. */
  batchWorkflowId: z.string().nullable(),
  result: InstructionResult,
});
export type FinishRequest = z.infer<typeof FinishRequest>;

// The activity interfaces the workflows call, by task queue role.
import type {
  Blob,
  BeginRequest,
  Begun,
  Check,
  CheckRequest,
  FinishRequest,
  CriteriaCheck,
  CriteriaRequest,
  Generation,
  GenerateRequest,
  Inspection,
  PromptRef,
  PromptRequest,
  ManifestEntry,
  ManifestRef,
  Retrospective,
  TestRequest,
  TestRun,
  InstructionResult,
  WriteRequest,
  WrittenFile,
  Report,
  SuiteRequest,
} from '../schemas.js';
import type { z } from 'zod';
import type { NotRun, Outcome, PlanDetail, PlanPage, SuiteResult, Tokens } from '../schemas.js';

export interface LlmActivities {
  generateOpenAI(req: GenerateRequest): Promise<Generation>;
  generateOllama(req: GenerateRequest): Promise<Generation>;
  generateProcessor(req: GenerateRequest): Promise<Generation>;
}

/** The workspace's single-purpose functions, which the steps below are made of. */
export interface WorkspaceActivities {
  preparePrompt(req: PromptRequest): Promise<PromptRef>;
  inspectOutput(req: { outputRef: Blob; deliverables: string[] }): Promise<Inspection>;
  writeDeliverables(req: z.infer<typeof WriteRequest>): Promise<{ written: WrittenFile[] }>;
  runTests(req: TestRequest): Promise<TestRun>;
  checkCriteria(req: CriteriaRequest): Promise<CriteriaCheck>;
  storeRetrospective(r: Retrospective): Promise<{ stored: 'mem0' | 'local' }>;
}

/**
 * The whole suite once after the last worker (suite.ts), on the workspace queue: heartbeats,
 * 30 minutes start-to-close.
 */
export interface SuiteActivities {
  runSuite(req: SuiteRequest): Promise<SuiteResult>;
}

/** An instruction's quick workspace steps, run as local activities by the workflow's worker (instruction-steps.ts). */
export interface InstructionLocalActivities {
  beginInstruction(req: BeginRequest): Promise<Begun>;
  preparePrompt(req: PromptRequest): Promise<PromptRef>;
  finishInstruction(req: FinishRequest): Promise<void>;
}

/** The instruction step that runs generated code, on the workspace queue (instruction-steps.ts). */
export interface CheckActivities {
  checkOutput(req: CheckRequest): Promise<Check>;
}

export interface ManifestActivities {
  /** One page of the compact plan (page 0 says how many entries there are). */
  loadPlanPage(req: { manifest: ManifestRef; page: number }): Promise<PlanPage>;
  /** Names, files and dependency files of plan indices [start, start + count). */
  loadPlanDetails(req: { manifest: ManifestRef; start: number; count: number }): Promise<PlanDetail[]>;
  loadEntry(req: { manifest: ManifestRef; workerId: string }): Promise<ManifestEntry>;
}

export interface ReportActivities {
  recordResult(req: { reportPath: string; result: InstructionResult }): Promise<void>;
  writeReport(req: ReportRequest): Promise<void>;
}

export interface ReportRequest {
  reportPath: string;
  summary: Omit<Report, 'workers' | 'cache' | 'isolation' | 'suite'>;
  /** Every worker of the batch, in manifest order. */
  manifest: ManifestRef;
  /** The batch's outcome of every worker, one letter per plan index (see workflows/batch/ledger.ts). */
  outcomes: string;
  /** The ones that never ran, or were cancelled, with why. */
  notRun: NotRun;
  suite?: SuiteResult | null;
}

/** How the children of a batch ended, looked up when the batch did not hear from them. */
export interface ChildCheckActivities {
  checkChildren(req: ChildCheckRequest): Promise<ClosedChild[]>;
}

export interface ChildCheckRequest {
  batchId: string;
  ids: string[];
  /** Terminate the ones still running, with this reason (an abort whose grace period passed). */
  terminate?: string;
}

export interface ClosedChild {
  id: string;
  outcome: Outcome;
  costUsd: number;
  tokens: Tokens;
  /** Why, when the child did not end on its own terms (terminated, failed, timed out). */
  reason: string | null;
}

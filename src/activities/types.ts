// The activity interfaces the workflows call, by task queue role.
import type {
  AcceptRequest, Acceptance, Blob, BeginRequest, Begun, FinishRequest, VerifyRequest, Verification,
  CriteriaCheck, CriteriaRequest, Generation, GenerateRequest, Inspection, PromptRef, PromptRequest,
  ManifestEntry, ManifestRef, PlanEntry, Retrospective, TestRequest, TestRun, InstructionResult, WriteRequest, WrittenFile, Report,
} from '../schemas.js';
import type { z } from 'zod';

export interface LlmActivities {
  generateOpenAI(req: GenerateRequest): Promise<Generation>;
  generateOllama(req: GenerateRequest): Promise<Generation>;
  generateProcessor(req: GenerateRequest): Promise<Generation>;
}

export interface WorkspaceActivities {
  preparePrompt(req: PromptRequest): Promise<PromptRef>;
  inspectOutput(req: { outputRef: Blob; deliverables: string[] }): Promise<Inspection>;
  writeDeliverables(req: z.infer<typeof WriteRequest>): Promise<{ written: WrittenFile[] }>;
  runTests(req: TestRequest): Promise<TestRun>;
  checkCriteria(req: CriteriaRequest): Promise<CriteriaCheck>;
  storeRetrospective(r: Retrospective): Promise<{ stored: 'mem0' | 'local' }>;
}

/** The workspace work of one worker in four steps (worker-steps.ts), made of the activities above and loadEntry and recordResult. */
export interface InstructionStepActivities {
  beginWorker(req: BeginRequest): Promise<Begun>;
  acceptOutput(req: AcceptRequest): Promise<Acceptance>;
  verifyOutput(req: VerifyRequest): Promise<Verification>;
  finishWorker(req: FinishRequest): Promise<void>;
}

export interface ManifestActivities {
  loadPlan(ref: ManifestRef): Promise<PlanEntry[]>;
  loadEntry(req: { manifest: ManifestRef; workerId: string }): Promise<ManifestEntry>;
}

export interface ReportActivities {
  recordResult(req: { reportPath: string; result: InstructionResult }): Promise<void>;
  writeReport(req: ReportRequest): Promise<void>;
}

export interface ReportRequest {
  reportPath: string;
  summary: Omit<Report, 'workers' | 'cache'>;
  /** Every worker of the batch, in manifest order. */
  manifest: ManifestRef;
  /** The ones that never ran, or were cancelled, with why. */
  notRun: Array<{ id: string; reason: string }>;
}

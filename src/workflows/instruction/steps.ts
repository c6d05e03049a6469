// The steps of one instruction, each returning what happens next: begin → generate → check →
// done, with one way back: `retry` with feedback (a guide's markers, the failing test output, the
// criteria not met), which writes a new prompt and generates again. A guide gets one
// regeneration, the check (tests or criteria) one more. The attempt log in the result is what the
// steps remember: it decides whether a failure has had its regeneration already. The quick
// workspace steps (begin, a regeneration's prompt, finish) are local activities: the workflow's
// worker is on the workspace host, and a local activity costs no task queue trip, no workflow
// task of its own and one history event.
import { proxyActivities, proxyLocalActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { CheckActivities, InstructionLocalActivities } from '../../activities/types.js';
import type {
  Blob,
  Failure,
  Feedback,
  Generation,
  InstructionInput,
  InstructionResult,
  ManifestEntry,
  Outcome,
} from '../../schemas.js';
import { blankResult } from './blank-result.js';
import { generate } from './generate.js';
import { promptRequestFor } from './requests.js';

export type Done = { next: 'done'; outcome: Outcome; error: string | null };
export type Next =
  | { next: 'generate'; promptRef: Blob; feedback: Feedback | null }
  | { next: 'check'; generation: Generation }
  | { next: 'retry'; feedback: Feedback }
  | Done;

const done = (outcome: Outcome, error: string | null = null): Done => ({ next: 'done', outcome, error });

const RETRY_REASON: Record<Feedback['kind'], string> = {
  guide: 'a guide',
  tests: 'failing tests',
  criteria: 'unmet success criteria',
};

export class InstructionSteps {
  readonly result: InstructionResult;
  private entry: ManifestEntry | undefined;
  private readonly where: { dependencyFiles: string[]; workspace: string; pythonRoot: string };

  private readonly local: InstructionLocalActivities;
  private readonly workspace: CheckActivities;

  constructor(
    private readonly input: InstructionInput,
    private readonly startedMs: number,
  ) {
    // Quick steps in this worker. A short limit, so a step stuck on a slow disk is retried soon.
    this.local = proxyLocalActivities({
      startToCloseTimeout: '30 seconds',
      retry: { maximumAttempts: 5, initialInterval: '1 second' },
    });
    // Running generated code takes as long as it takes; the heartbeat notices a dead worker. A failing
    // test is a result, not an error: only infrastructure failures are retried.
    this.workspace = proxyActivities({
      taskQueue: input.options.workspaceQueue,
      startToCloseTimeout: '15 minutes',
      heartbeatTimeout: '30 seconds',
      retry: { maximumAttempts: 2 },
    });
    const { workspace, pythonRoot } = input.options;
    this.where = { dependencyFiles: input.dependencyFiles, workspace, pythonRoot };
    this.result = {
      ...blankResult(input.workerId, input.workerId, 'error', 'start', null),
      startedAt: new Date(startedMs).toISOString(),
      finishedAt: '',
    };
  }

  /** The worker's current-details line in the Web UI: what it is, where it writes, what it does now. */
  show(step: string): void {
    this.result.lastStep = step;
    const e = this.entry;
    setCurrentDetails(e ? `${e.name} → ${e.deliverables.join(', ')}: ${step}` : step);
  }

  /** The manifest entry and the first prompt. */
  async begin(): Promise<Next> {
    this.show('loading the instruction');
    const { manifest, workerId } = this.input;
    const { entry, prompt } = await this.local.beginInstruction({ manifest, workerId, ...this.where });
    this.entry = entry;
    this.result.name = entry.name;
    this.result.instructionSha256 = entry.sha256;
    return { next: 'generate', promptRef: prompt.promptRef, feedback: null };
  }

  /** One generation: the provider chain, or (`--replay-from`) the first answer an earlier batch paid for. */
  async generate(promptRef: Blob, feedback: Feedback | null): Promise<Next> {
    const entry = this.entryOrThrow();
    const result = this.result;
    this.show('generating');
    const replay = feedback === null ? entry.replay : null;
    let generation: Generation;
    if (replay) {
      generation = { ...replay, tokens: { prompt: 0, completion: 0 }, costUsd: 0, durationMs: 0, cached: true };
    } else {
      const req = { workerId: entry.id, promptRef, primary: entry.provider };
      const generated = await generate(req, this.input.options, this.input.budget, result);
      if (!generated.ok) return done(generated.outcome, generated.error);
      generation = generated.generation;
    }
    if (generation.cached) {
      result.cacheHits += 1;
      result.savedUsd += generation.savedUsd;
    }
    result.outputRef = generation.outputRef.sha256;
    result.tokens.prompt += generation.tokens.prompt;
    result.tokens.completion += generation.tokens.completion;
    result.costUsd += generation.costUsd;
    result.provider = generation.provider;
    result.model = generation.model;
    return { next: 'check', generation };
  }

  /**
   * A guide goes back with its markers (once). Code is written and tested, and when the tests
   * pass held to the success criteria; a failure of either goes back once with what failed.
   */
  async check(generation: Generation): Promise<Next> {
    const entry = this.entryOrThrow();
    this.show('checking for a guide, writing files, running tests, checking success criteria');
    const checked = await this.workspace.checkOutput({
      outputRef: generation.outputRef,
      workerId: entry.id,
      workspace: this.input.options.workspace,
      pythonRoot: this.input.options.pythonRoot,
      commands: entry.testCommands,
      instructionFile: entry.file,
      deliverables: entry.deliverables,
    });
    if (checked.guide) {
      const markers = checked.markers.join('; ') || 'no usable code';
      const retried = this.failed('guide');
      this.log('guide', `a guide, not code: ${markers}`);
      if (retried) return done('guide', `still a guide after a firmer prompt: ${markers}`);
      return { next: 'retry', feedback: { kind: 'guide', markers: checked.markers } };
    }
    const { tests: run, criteria } = checked;
    if (!run) throw new Error('checkOutput returned code without a test run');
    this.result.files = checked.written.map((f) => f.path);
    this.result.tests = { passed: run.passed, failed: run.failed };
    this.result.testOutputRef = run.outputRef.sha256;
    if (!run.ok || !criteria) {
      const feedback: Feedback = { kind: 'tests', outputRef: run.outputRef, summary: run.summary.slice(-500) };
      return this.checkFailed(feedback, assertionOf(run.summary), `tests failed: ${lastLine(run.summary)}`);
    }
    if (!criteria.ok) {
      const unmet = criteria.results.filter((r) => r.status === 'unmet').map((r) => `${r.criterion} (${r.detail})`);
      const what = unmet.join('; ');
      const feedback: Feedback = { kind: 'criteria', unmet };
      return this.checkFailed(feedback, `criterion not met: ${what}`, `success criteria not met: ${what}`);
    }
    return done('passed');
  }

  /** A new prompt carrying what went wrong, then another generation. */
  async retry(feedback: Feedback): Promise<Next> {
    const entry = this.entryOrThrow();
    this.show(`regenerating after ${RETRY_REASON[feedback.kind]}`);
    const prompt = await this.local.preparePrompt(promptRequestFor(entry, this.where, feedback));
    return { next: 'generate', promptRef: prompt.promptRef, feedback };
  }

  /** Records the result for the report and the retrospective, and tells the batch. */
  async record(): Promise<void> {
    this.show(`ended ${this.result.outcome}`);
    const { batchId, options } = this.input;
    const batchWorkflowId = workflowInfo().parent?.workflowId ?? null;
    await this.local.finishInstruction({
      reportPath: options.reportPath,
      batchId,
      batchWorkflowId,
      result: this.result,
    });
  }

  /** Writes the end into the result: outcome, error, times, and what made a failed attempt pass. */
  end(outcome: Outcome, error: string | null, finishedMs: number): InstructionResult {
    const result = this.result;
    result.outcome = outcome;
    result.error = error;
    result.finishedAt = new Date(finishedMs).toISOString();
    result.durationMs = finishedMs - this.startedMs;
    result.changes = outcome === 'passed' ? changesOf(result) : null;
    return result;
  }

  private checkFailed(feedback: Feedback, logLine: string, finalError: string): Next {
    const retried = this.failed('tests') || this.failed('criteria');
    this.log(feedback.kind === 'criteria' ? 'criteria' : 'tests', logLine);
    if (retried) return done('failed', finalError);
    return { next: 'retry', feedback };
  }

  private failed(kind: Failure['kind']): boolean {
    return this.result.failures.some((f) => f.kind === kind);
  }

  private log(kind: Failure['kind'], message: string): void {
    this.result.failures.push({ attempt: this.result.attempts, kind, message: message.slice(0, 500) });
  }

  private entryOrThrow(): ManifestEntry {
    if (!this.entry) throw new Error('the instruction was not loaded (begin first)');
    return this.entry;
  }
}

/** One sentence on what made the passing attempt differ from the failed ones. */
function changesOf(result: InstructionResult): string | null {
  if (result.failures.length === 0) return null;
  const count = (kind: Failure['kind']) => result.failures.filter((f) => f.kind === kind).length;
  const parts: string[] = [];
  const llm = count('llm');
  const calls = `${llm} failed LLM call${llm > 1 ? 's' : ''}`;
  if (llm > 0) parts.push(`${result.provider ?? 'a provider'} answered after ${calls}`);
  if (count('guide') > 0) parts.push('regenerated with a firmer prompt quoting the guide markers');
  if (count('tests') > 0) parts.push('regenerated with the test failure');
  if (count('criteria') > 0) parts.push('regenerated with the unmet success criteria');
  parts.push(count('criteria') > 0 ? 'tests passed and criteria met' : 'tests passed');
  return parts.join('; ');
}

/** The failing assertion in pytest's output (its short summary line, or the first `E` line), else the last line. */
function assertionOf(summary: string): string {
  const lines = summary.split('\n').map((l) => l.trim());
  const failed = lines.find((l) => /^FAILED\s/.test(l) && l.includes(' - '));
  if (failed) return failed.slice(failed.indexOf(' - ') + 3);
  const e = lines.find((l) => /^E\s+\S/.test(l));
  if (e) return e.replace(/^E\s+/, '');
  return lastLine(summary);
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

// One worker instruction: begin (entry, prompt) → generate (provider chain) → accept (reject a
// guide, else write the files) → verify (tests, then success criteria) → finish (result,
// retrospective). A guide or failing tests are regenerated once with feedback. Only references
// cross the activity boundary: the prompt, the generated code and the test log stay in the
// artifact store.
import {
  ActivityFailure, ApplicationFailure, CancellationScope, TimeoutFailure, getExternalWorkflowHandle, isCancellation,
  patched, proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { LlmActivities, ManifestActivities, ReportActivities, InstructionStepActivities, WorkspaceActivities } from '../../activities/types.js';
import type { Feedback, Generation, ManifestEntry, Outcome, Provider, InstructionInput, InstructionResult } from '../../schemas.js';
import { providerChain } from '../../instructions/provider-chain.js';
import { OUTCOME, PROVIDER } from '../../temporal/search-attributes.js';
import { promptRequestFor } from './requests.js';
import { instructionDoneSignal } from '../batch/messages.js';
import { MERGED_STEPS, mergedSteps, separateSteps } from './steps.js';

const GENERATE: Record<Provider, keyof LlmActivities> = {
  openai: 'generateOpenAI',
  ollama: 'generateOllama',
  processor: 'generateProcessor',
};

/** Thrown when every provider in the chain failed; `timedOut` when every one of them timed out. */
class ProvidersExhausted extends Error {
  constructor(message: string, readonly timedOut: boolean) {
    super(message);
  }
}

export async function instructionWorkflow(input: InstructionInput): Promise<InstructionResult> {
  const { options, batchId } = input;
  // Where the code goes, and what it may build on.
  const where = { dependencyFiles: input.dependencyFiles, workspace: options.workspace, pythonRoot: options.pythonRoot };
  const startedMs = Date.now();
  const result: InstructionResult = {
    id: input.workerId,
    name: input.workerId,
    outcome: 'error',
    provider: null,
    model: null,
    attempts: 0,
    files: [],
    tests: { passed: 0, failed: 0 },
    tokens: { prompt: 0, completion: 0 },
    costUsd: 0,
    startedAt: new Date(startedMs).toISOString(),
    finishedAt: '',
    durationMs: 0,
    error: null,
    lastStep: 'start',
    cacheHits: 0,
    savedUsd: 0,
    outputRef: null,
    instructionSha256: null,
    testOutputRef: null,
  };
  let entry: ManifestEntry | undefined;
  const step = (name: string) => {
    result.lastStep = name;
    setCurrentDetails(entry ? `${entry.name} → ${entry.deliverables.join(', ')}: ${name}` : name);
  };
  // Tells the batch, whichever run of it is current, that this worker has ended.
  const report = (outcome: Outcome) => {
    const parent = workflowInfo().parent;
    if (!parent) return Promise.resolve();
    return getExternalWorkflowHandle(parent.workflowId).signal(instructionDoneSignal, {
      id: input.workerId,
      outcome,
      costUsd: result.costUsd,
      tokens: result.tokens,
    });
  };

  // Quick steps on the workspace host. A short limit, so a worker killed mid-step is noticed soon.
  const workspace = proxyActivities<WorkspaceActivities & InstructionStepActivities & ManifestActivities & ReportActivities>({
    taskQueue: options.workspaceQueue,
    startToCloseTimeout: '30 seconds',
    retry: { maximumAttempts: 5, initialInterval: '1 second' },
  });
  // Running generated code takes as long as it takes; the heartbeat notices a dead worker. A failing
  // test is a result, not an error: only infrastructure failures are retried.
  const tests = proxyActivities<WorkspaceActivities & InstructionStepActivities>({
    taskQueue: options.workspaceQueue,
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { maximumAttempts: 2 },
  });

  async function generate(entry: ManifestEntry, promptRef: string): Promise<Generation> {
    const chain = providerChain(entry.provider, options.providers);
    const failures: string[] = [];
    let allTimeouts = true;
    for (const provider of chain) {
      const llm = proxyActivities<LlmActivities>({
        taskQueue: options.llmQueues?.[provider] ?? `llm-${provider}`,
        startToCloseTimeout: options.llm.timeoutMs + 30_000,
        heartbeatTimeout: options.llm.heartbeatMs,
        retry: {
          maximumAttempts: options.llm.maxAttempts,
          initialInterval: options.llm.initialRetryMs,
          maximumInterval: options.llm.maxRetryMs,
          backoffCoefficient: 2,
        },
      });
      result.attempts += 1;
      try {
        return await llm[GENERATE[provider]]({ workerId: entry.id, promptRef, timeoutMs: options.llm.timeoutMs, cache: options.cache });
      } catch (err) {
        if (isCancellation(err)) throw err;
        const timedOut = isTimeout(err);
        allTimeouts &&= timedOut;
        failures.push(`${provider}: ${describe(err)}`);
      }
    }
    throw new ProvidersExhausted(`every provider failed (${failures.join('; ')})`, allTimeouts && chain.length > 0);
  }

  // Batches started before the merge replay their workers with the single-purpose activities.
  const merged = patched(MERGED_STEPS);
  const steps = merged ? mergedSteps(workspace, tests) : separateSteps(workspace, tests);
  let ended = false;

  const finish = async (outcome: Outcome, error: string | null = null): Promise<InstructionResult> => {
    result.outcome = outcome;
    result.error = error;
    const finishedMs = Date.now();
    result.finishedAt = new Date(finishedMs).toISOString();
    result.durationMs = finishedMs - startedMs;
    upsertSearchAttributes([{ key: OUTCOME, value: outcome }]);
    step(`ended ${outcome}`);
    ended = true;
    if (!merged) {
      await steps.finish({ reportPath: options.reportPath, batchId, result });
      await report(outcome);
      return result;
    }
    // The batch hears of the end even when recording it failed, so its slot is never held.
    try {
      await steps.finish({ reportPath: options.reportPath, batchId, result });
    } finally {
      await CancellationScope.nonCancellable(() => report(outcome));
    }
    return result;
  };

  try {
    step('loading the instruction');
    const begun = await steps.begin({ manifest: input.manifest, workerId: input.workerId, ...where });
    entry = begun.entry;
    result.name = entry.name;
    result.instructionSha256 = entry.sha256;
    let prompt = begun.prompt;
    let feedback: Feedback | null = null;
    let guideRetried = false;
    let testsRetried = false;
    for (;;) {
      if (feedback) {
        step(`regenerating after ${feedback.kind === 'guide' ? 'a guide' : 'failing tests'}`);
        prompt = await workspace.preparePrompt(promptRequestFor(entry, where, feedback));
      }

      step('generating');
      // --replay-from: the first answer is the one an earlier batch paid for.
      const replay = feedback === null ? entry.replay : null;
      const generation: Generation = replay
        ? { ...replay, tokens: { prompt: 0, completion: 0 }, costUsd: 0, durationMs: 0, cached: true }
        : await generate(entry, prompt.promptRef);
      if (generation.cached) {
        result.cacheHits += 1;
        result.savedUsd += generation.savedUsd;
      }
      result.outputRef = generation.outputRef;
      result.tokens.prompt += generation.tokens.prompt;
      result.tokens.completion += generation.tokens.completion;
      result.costUsd += generation.costUsd;
      result.provider = generation.provider;
      result.model = generation.model;
      upsertSearchAttributes([{ key: PROVIDER, value: generation.provider }]);

      step('checking for a guide, writing files');
      const accepted = await steps.accept({ outputRef: generation.outputRef, deliverables: entry.deliverables, workspace: options.workspace });
      if (accepted.guide) {
        if (guideRetried) return await finish('guide', `still a guide after a firmer prompt: ${accepted.markers.join('; ')}`);
        guideRetried = true;
        feedback = { kind: 'guide', markers: accepted.markers };
        continue;
      }
      result.files = accepted.written.map((f) => f.path);

      step('running tests, checking success criteria');
      const { tests: run, criteria } = await steps.verify({
        workerId: entry.id,
        workspace: options.workspace,
        pythonRoot: options.pythonRoot,
        commands: entry.testCommands,
        instructionFile: entry.file,
        deliverables: entry.deliverables,
      });
      result.tests = { passed: run.passed, failed: run.failed };
      result.testOutputRef = run.outputRef;
      if (!run.ok || !criteria) {
        if (testsRetried) return await finish('failed', `tests failed: ${lastLine(run.summary)}`);
        testsRetried = true;
        feedback = { kind: 'tests', outputRef: run.outputRef, summary: run.summary.slice(-500) };
        continue;
      }
      const unmet = criteria.results.filter((r) => r.status === 'unmet');
      if (!criteria.ok) return await finish('failed', `success criteria not met: ${unmet.map((r) => `${r.criterion} (${r.detail})`).join('; ')}`);
      return await finish('passed');
    }
  } catch (err) {
    if (isCancellation(err)) {
      // The batch aborted: say so (the batch counts it skipped), then end cancelled.
      await CancellationScope.nonCancellable(() => report('skipped'));
      throw err;
    }
    // Recording or signalling the end failed: fail the run rather than record a second, different end.
    if (ended && merged) throw err;
    if (err instanceof ProvidersExhausted) return await finish(err.timedOut ? 'llm_timeout' : 'error', err.message);
    return await finish('error', describe(err));
  }
}

function isTimeout(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof TimeoutFailure) return true;
  return cause instanceof ApplicationFailure && cause.type === 'LlmTimeout';
}

/** The innermost message of a failure chain, kept short for history and the report. */
function describe(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const message = e instanceof Error ? e.message : String(e);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

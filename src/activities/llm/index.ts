// The LLM activities: read the prompt (a Blob: inline, or a claim check), call one provider, keep
// the answer and return it as a Blob in a Generation.
import type { Dispatcher } from 'undici';
import type OpenAI from 'openai';
import type { ArtifactStore } from '../artifacts.js';
import { ollamaBaseUrl, type Config } from '../../config.js';
import type { GenerateRequest, Generation, Provider } from '../../schemas.js';
import path from 'node:path';
import { GenerationCache } from './cache.js';
import { LLM_FAILURE_TYPES, checkOutput, llmFailure, toLlmFailure } from './errors.js';
import { guardCall, type CallGuard } from './guard.js';
import { callOllama } from './ollama.js';
import { callOpenAI, createOpenAIClient } from './openai.js';
import { callProcessor } from './processor.js';
import { costUsd } from './pricing.js';
import { recordLlmCall } from '../../temporal/metrics.js';
import type { ProviderResult, Sampling } from './types.js';

export { LLM_FAILURE_TYPES, MAX_OUTPUT_BYTES, type LlmFailureType } from './errors.js';
export { billedCostOf, type BilledCall, type LlmFailureDetails } from './billed.js';
export { PRICE_TABLE, PRICE_TABLE_DATE, costUsd } from './pricing.js';

/** Fixed system message: the guide detector and the file writer rely on this output shape. */
export const SYSTEM_PROMPT = [
  'Answer only with code, in fenced code blocks, one block per file.',
  'The info string of each block is the language and path=<file>, for example ```python path=wingman/core/x.py',
  'No explanations, no steps, no prose outside the blocks.',
].join('\n');

export interface LlmDeps {
  config: Config;
  store: ArtifactStore;
  /** fetch for the openai SDK (a proxy, a test); the global fetch otherwise. */
  fetch?: typeof fetch;
  /** undici dispatcher for Ollama and the processor (a proxy, a pool); undici's global one otherwise. */
  dispatcher?: Dispatcher;
  /** Heartbeat interval while waiting; by default 5 s, or a third of the activity's heartbeat timeout. */
  heartbeatMs?: number;
}

export interface LlmActivities {
  generateOpenAI(req: GenerateRequest): Promise<Generation>;
  generateOllama(req: GenerateRequest): Promise<Generation>;
  generateProcessor(req: GenerateRequest): Promise<Generation>;
}

export function createLlmActivities(deps: LlmDeps): LlmActivities {
  const { config, store } = deps;
  const secrets = [config.OPENAI_API_KEY];
  let openai: OpenAI | undefined;

  function notConfigured(provider: Provider, what: string): never {
    // Non-retryable: another attempt on this worker cannot succeed; the workflow falls back.
    throw llmFailure(LLM_FAILURE_TYPES.rejected, `${what} is not set on this worker`, { provider });
  }

  const cache = new GenerationCache(path.join(config.stateDir, 'cache'));

  async function run(
    provider: Provider,
    model: string,
    req: GenerateRequest,
    call: (prompt: string, sampling: Sampling, guard: CallGuard) => Promise<ProviderResult>,
  ): Promise<Generation> {
    const key = cache.key(provider, model, req.promptRef.sha256);
    if (req.cache) {
      const hit = await cache.get(key);
      if (hit && (await store.has(hit.outputRef))) {
        const outputRef = await store.putBlob(await store.get(hit.outputRef));
        return {
          provider,
          model: hit.model,
          outputRef,
          tokens: { prompt: 0, completion: 0 },
          costUsd: 0,
          durationMs: 0,
          cached: true,
          savedUsd: hit.costUsd,
        };
      }
    }
    const prompt = await store.readBlob(req.promptRef);
    const started = Date.now();
    // The batch's settings when the workflow sent them, else this worker's (a batch started before they existed).
    const sampling: Sampling = {
      temperature: req.temperature ?? config.WINGMAN_LLM_TEMPERATURE,
      maxTokens: req.maxTokens ?? config.WINGMAN_LLM_MAX_TOKENS,
    };
    const guard = guardCall(req.timeoutMs, deps.heartbeatMs);
    let result: ProviderResult;
    try {
      result = await call(prompt, sampling, guard);
    } catch (err) {
      throw toLlmFailure(err, provider, guard, secrets);
    } finally {
      guard.dispose();
    }
    const durationMs = Date.now() - started;
    const cost = costUsd(provider, result.model, result.tokens);
    recordLlmCall({ provider, model: result.model, durationMs, tokens: result.tokens, costUsd: cost });
    // An unusable answer was still billed: the failure says what it cost.
    checkOutput(provider, result.text, { costUsd: cost, tokens: result.tokens }, result.finishReason, result.refusal);
    const outputRef = await store.putBlob(result.text);
    if (req.cache)
      await cache.put(key, { outputRef: outputRef.sha256, model: result.model, tokens: result.tokens, costUsd: cost });
    return {
      provider,
      model: result.model,
      outputRef,
      tokens: result.tokens,
      costUsd: cost,
      durationMs,
      cached: false,
      savedUsd: 0,
    };
  }

  return {
    async generateOpenAI(req) {
      const apiKey = config.OPENAI_API_KEY;
      if (!apiKey) notConfigured('openai', 'OPENAI_API_KEY');
      openai ??= createOpenAIClient({ apiKey, baseURL: config.OPENAI_BASE_URL, fetch: deps.fetch });
      const client = openai;
      return run('openai', config.OPENAI_MODEL, req, (prompt, sampling, guard) =>
        callOpenAI(client, config.OPENAI_MODEL, SYSTEM_PROMPT, prompt, sampling, req.timeoutMs, guard),
      );
    },

    async generateOllama(req) {
      const baseUrl = ollamaBaseUrl(config);
      if (!baseUrl) notConfigured('ollama', 'OLLAMA_HOST');
      const target = { baseUrl, model: config.OLLAMA_MODEL, dispatcher: deps.dispatcher };
      return run('ollama', config.OLLAMA_MODEL, req, (prompt, sampling, guard) =>
        callOllama(target, SYSTEM_PROMPT, prompt, sampling, req.timeoutMs, guard),
      );
    },

    async generateProcessor(req) {
      const baseUrl = config.INTEL_LLM_PROCESSOR;
      if (!baseUrl) notConfigured('processor', 'INTEL_LLM_PROCESSOR');
      const target = { baseUrl, model: config.INTEL_LLM_PROCESSOR_MODEL, dispatcher: deps.dispatcher };
      return run('processor', config.INTEL_LLM_PROCESSOR_MODEL, req, (prompt, sampling, guard) =>
        callProcessor(target, SYSTEM_PROMPT, prompt, sampling, req.timeoutMs, guard),
      );
    },
  };
}

// The --dry-run plan: the order workers will start in, each one's provider chain, and what it
// should cost, without calling any LLM.
import { statSync } from 'node:fs';
import { costUsd } from '../activities/llm/pricing.js';
import type { Config } from '../config.js';
import { providerChain } from '../instructions/provider-chain.js';
import type { ManifestEntry, Provider } from '../schemas.js';
import { dependencyOrder } from '../instructions/ordering.js';

// Rough sizes from the prompts and answers this tool produces: the fixed framing of a prompt, and
// what one generated file costs. A firm retry or a test-fix retry can double a worker's cost.
const PROMPT_OVERHEAD_TOKENS = 900;
const COMPLETION_TOKENS_PER_FILE = 1_200;
const CHARS_PER_TOKEN = 4;
// A generation's prompt also carries the public names of each dependency's files, and a retry the
// failure it answers: counted generously, since the batch reserves budget by this estimate.
const DEPENDENCY_TOKENS_PER_FILE = 400;
const FEEDBACK_TOKENS = 1_000;

export interface PlanLine {
  id: string;
  name: string;
  chain: Provider[];
  model: string;
  dependencies: string[];
  deliverables: string[];
  estimatedUsd: number;
}

export function modelFor(provider: Provider, c: Config): string {
  return provider === 'openai' ? c.OPENAI_MODEL : provider === 'ollama' ? c.OLLAMA_MODEL : c.INTEL_LLM_PROCESSOR_MODEL;
}

export function plan(entries: ManifestEntry[], available: Provider[], c: Config): PlanLine[] {
  const { order, blocked } = dependencyOrder(entries);
  return [...order, ...blocked].map((e) => {
    const chain = providerChain(e.provider, available);
    const first = chain[0] ?? e.provider;
    const model = modelFor(first, c);
    const prompt = PROMPT_OVERHEAD_TOKENS + Math.ceil(statSync(e.file).size / CHARS_PER_TOKEN);
    const completion = COMPLETION_TOKENS_PER_FILE * e.deliverables.length;
    return {
      id: e.id,
      name: e.name,
      chain,
      model,
      dependencies: e.dependencies,
      deliverables: e.deliverables,
      estimatedUsd: costUsd(first, model, { prompt, completion }),
    };
  });
}

export function formatPlan(lines: PlanLine[], budgetUsd: number): string {
  const total = lines.reduce((s, l) => s + l.estimatedUsd, 0);
  const rows = lines.map((l, i) => {
    const chain = l.chain.join(' → ') || '(no provider)';
    const after = l.dependencies.length ? `  (after ${l.dependencies.join(', ')})` : '';
    return (
      `${String(i + 1).padStart(4)}. ${l.id}  ${chain}  ${l.model}  ~$${l.estimatedUsd.toFixed(4)}` +
      `\n        ${l.name} → ${l.deliverables.join(', ')}${after}`
    );
  });
  return [
    `Plan: ${lines.length} workers`,
    ...rows,
    `Estimated cost: ~$${total.toFixed(4)} first time right, ` +
      `up to ~$${(total * 3).toFixed(4)} if every worker regenerates twice (budget $${budgetUsd.toFixed(2)}).`,
  ].join('\n');
}

/**
 * What one generation of an instruction can cost on the dearest provider of its chain: the prompt
 * from the instruction's size, its dependencies' files and a retry's feedback, the completion at
 * the configured completion limit (WINGMAN_LLM_MAX_TOKENS), priced with the price table (local
 * providers cost 0). The batch reserves three of these per instruction before starting it.
 */
export function withGenerationEstimates(entries: ManifestEntry[], available: Provider[], c: Config): ManifestEntry[] {
  const byId = new Map(entries.map((e) => [e.id, e]));
  return entries.map((e) => {
    // The dearest provider the chain may fall back to: a local instruction may end up paid.
    const chain = providerChain(e.provider, available);
    const dependencyFiles = new Set(e.dependencies.flatMap((d) => byId.get(d)?.deliverables ?? []));
    const instruction = Math.ceil(statSync(e.file).size / CHARS_PER_TOKEN);
    const prompt =
      PROMPT_OVERHEAD_TOKENS + FEEDBACK_TOKENS + instruction + DEPENDENCY_TOKENS_PER_FILE * dependencyFiles.size;
    const estimates = (chain.length ? chain : [e.provider]).map((p) =>
      costUsd(p, modelFor(p, c), { prompt, completion: c.WINGMAN_LLM_MAX_TOKENS }),
    );
    return { ...e, generationEstimateUsd: Math.max(...estimates) };
  });
}

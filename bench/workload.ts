// A workload shaped like the real set of worker instructions (see /work/shared/corpus): tiers of
// structure → implementation → tests → integration → deployment, each depending on the one
// before, some implementations updating the file their structure worker created (as WORKER_002
// updates WORKER_001's), deployment scripts checked with `bash -n`, everything else with
// `python -m py_compile`. Deterministic for a seed: the same seed gives the same dependencies
// and the same LLM latency per worker, whichever way the workload is run.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { instructionText, type InstructionSpec } from '../test/support/instructions.js';

export type Tier = 'structure' | 'implementation' | 'tests' | 'integration' | 'deployment';
export const TIERS: Tier[] = ['structure', 'implementation', 'tests', 'integration', 'deployment'];
/** 30 / 90 / 60 / 30 / 15 of 225, the proportions of the real set. */
const SHARE: Record<Tier, number> = { structure: 2, implementation: 6, tests: 4, integration: 2, deployment: 1 };

export interface BenchWorker {
  id: string;
  tier: Tier;
  file: string;
  dependsOn: string[];
  /** TEST_PROCESS, run from the Python root `wingman/`. */
  test: string;
  /** The stand-in LLM answers this worker after this long. */
  latencyMs: number;
}

/** mulberry32: small, fast, good enough for benchmark draws, and the same everywhere. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A log-normal draw with the given median and sigma (of the underlying normal), by Box-Muller. */
export function logNormal(random: () => number, medianMs: number, sigma: number): number {
  const u = Math.max(random(), 1e-12);
  const v = random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return medianMs * Math.exp(sigma * z);
}

export function tierSizes(n: number): Record<Tier, number> {
  const total = TIERS.reduce((s, t) => s + SHARE[t], 0);
  const sizes = Object.fromEntries(TIERS.map((t) => [t, Math.max(1, Math.floor((n * SHARE[t]) / total))])) as Record<
    Tier,
    number
  >;
  // Whatever rounding left over goes to implementation, the largest tier.
  sizes.implementation += n - TIERS.reduce((s, t) => s + sizes[t], 0);
  return sizes;
}

export interface WorkloadOptions {
  workers: number;
  seed: number;
  /** Log-normal LLM latency; 0 for an instant stand-in. */
  medianMs: number;
  sigma: number;
}

export function tieredWorkload(o: WorkloadOptions): BenchWorker[] {
  const pick = rng(o.seed);
  const latency = rng(o.seed ^ 0x9e3779b9);
  const sizes = tierSizes(o.workers);
  const width = Math.max(3, String(o.workers).length);
  const out: BenchWorker[] = [];
  const add = (tier: Tier, file: string, dependsOn: string[]) => {
    const id = `WORKER_${String(out.length + 1).padStart(width, '0')}`;
    const fromRoot = path.posix.relative('wingman', file);
    const test = file.endsWith('.sh') ? `bash -n ${fromRoot}` : `python -m py_compile ${fromRoot}`;
    const latencyMs = o.medianMs > 0 ? Math.round(logNormal(latency, o.medianMs, o.sigma)) : 0;
    out.push({ id, tier, file, dependsOn: [...new Set(dependsOn)], test, latencyMs });
    return id;
  };
  const choose = <T>(list: T[]): T => list[Math.floor(pick() * list.length)]!;
  const packages = ['validation', 'core', 'api', 'storage', 'monitoring', 'routing'];

  // Structure: one module each (the class skeletons).
  const modules: Array<{ file: string; structure: string; impl: string[] }> = [];
  for (let i = 0; i < sizes.structure; i++) {
    const file = `wingman/${packages[i % packages.length]}/module_${i + 1}.py`;
    modules.push({ file, structure: add('structure', file, []), impl: [] });
  }
  // Implementation: the first of each module updates the module itself (after its skeleton);
  // the others add a file of their own next to it, and a third of them also need that update.
  for (let i = 0; i < sizes.implementation; i++) {
    const m = modules[i % modules.length]!;
    if (m.impl.length === 0) {
      m.impl.push(add('implementation', m.file, [m.structure]));
    } else {
      const deps = [m.structure, ...(pick() < 1 / 3 ? [m.impl[0]!] : [])];
      m.impl.push(add('implementation', m.file.replace(/\.py$/, `_part${m.impl.length}.py`), deps));
    }
  }
  // Tests: a test file per module, depending on what implements it.
  const tests: string[] = [];
  for (let i = 0; i < sizes.tests; i++) {
    const mi = i % modules.length;
    const m = modules[mi]!;
    const deps = m.impl.length
      ? [m.impl[0]!, ...(m.impl.length > 1 && pick() < 0.5 ? [choose(m.impl.slice(1))] : [])]
      : [m.structure];
    tests.push(add('tests', `wingman/tests/test_module_${mi + 1}_${Math.floor(i / modules.length) + 1}.py`, deps));
  }
  // Integration: flows across modules, each needing two or three test workers to have passed.
  const integration: string[] = [];
  for (let i = 0; i < sizes.integration; i++) {
    const k = 2 + (pick() < 0.5 ? 1 : 0);
    const deps = Array.from({ length: k }, () => choose(tests.length ? tests : modules.map((m) => m.structure)));
    integration.push(add('integration', `wingman/integration/flow_${i + 1}.py`, deps));
  }
  // Deployment: rollout scripts after two integration flows.
  for (let i = 0; i < sizes.deployment; i++) {
    const pool = integration.length ? integration : tests;
    add('deployment', `deploy/rollout_${i + 1}.sh`, [choose(pool), choose(pool)]);
  }
  return out;
}

export function writeWorkload(dir: string, workers: BenchWorker[]): void {
  mkdirSync(dir, { recursive: true });
  for (const w of workers) {
    const spec: InstructionSpec = {
      id: w.id,
      name: `${w.tier} ${w.file}`,
      files: [w.file],
      dependsOn: w.dependsOn,
      test: w.test,
      llm: 'openai',
    };
    writeFileSync(path.join(dir, `${w.id}.md`), instructionText(spec));
  }
}

/** What the stand-in LLM answers for a worker: one complete, valid file for its deliverable. */
export function codeFor(w: Pick<BenchWorker, 'id' | 'file' | 'tier'>): string {
  const n = Number(w.id.replace(/\D/g, ''));
  if (w.file.endsWith('.sh')) {
    return (
      `#!/usr/bin/env bash\n# ${w.id}: rollout\nset -euo pipefail\n` +
      `percent="\${VALIDATION_ROLLOUT_PERCENT:-10}"\necho "rolling out ${n} at \${percent}%"\n`
    );
  }
  const fn = w.id.toLowerCase();
  if (w.tier === 'tests')
    return `"""${w.id}: tests."""\n\n\ndef test_${fn}() -> None:\n    assert ${n} + 1 == ${n + 1}\n`;
  return `"""${w.id}: ${w.tier}."""\n\n\ndef ${fn}(x: int = 1) -> int:\n    return x + ${n}\n`;
}

/** Edges a scheduler must respect: dependencies, and earlier writers of the same file. */
export function predecessors(workers: BenchWorker[]): Map<string, string[]> {
  const lastWriter = new Map<string, string>();
  const out = new Map<string, string[]>();
  for (const w of workers) {
    const prev = lastWriter.get(w.file);
    out.set(w.id, [...new Set([...w.dependsOn, ...(prev ? [prev] : [])])]);
    lastWriter.set(w.file, w.id);
  }
  return out;
}

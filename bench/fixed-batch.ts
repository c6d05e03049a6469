// The old way, for comparison: the script this project replaces ran its workers with
// `asyncio.gather` in fixed batches of 50, each batch waiting for its slowest member before the
// next one started. Here the same, in TypeScript, with no Temporal at all: the project's own
// activity functions called in-process, in the order the worker workflow calls them on its happy
// path (load the entry, prepare the prompt, generate through the real openai SDK, inspect for a
// guide, write the files, run the tests, check the criteria, store the retrospective, record the
// result). So both ways do the same per-worker work against the same stand-in LLM.
//
// Batches: workers in id order (the workload's ids already put dependencies first), each placed
// in the first batch after those of its dependencies that still has room. That is the best a
// fixed-batch runner can do while respecting dependencies; a plain "50 by id" would run a worker
// beside the one it depends on.
//
//   node --import tsx bench/fixed-batch.ts --workers DIR --workspace DIR --python-root wingman
//        --batch-size 50 --out FILE [--limit N] [--sequential]
// --sequential runs one worker at a time (the calibration of the per-worker cost without an LLM).
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createActivities } from '../src/activities/index.js';
import { loadEntry, saveManifest } from '../src/activities/manifest-store.js';
import { readConfig } from '../src/config.js';
import { loadManifest } from '../src/instructions/manifest.js';
import type { ManifestEntry } from '../src/schemas.js';

export const STEPS = [
  'loadEntry',
  'preparePrompt',
  'generate',
  'inspectOutput',
  'writeDeliverables',
  'runTests',
  'checkCriteria',
  'storeRetrospective',
  'recordResult',
] as const;
export type Step = (typeof STEPS)[number];

export interface FixedWorkerTiming {
  id: string;
  batch: number;
  startMs: number;
  endMs: number;
  outcome: 'passed' | 'failed' | 'guide' | 'error';
  error?: string;
  steps: Partial<Record<Step, number>>;
}

export interface FixedBatchResult {
  mode: 'batches' | 'sequential';
  batchSize: number;
  batches: number[];
  workers: FixedWorkerTiming[];
  /** First worker start to last worker end, ms. */
  makespanMs: number;
  counts: Record<string, number>;
}

/** Batch index of each worker: after its dependencies' batches, in the first with room. */
export function fixedBatches(
  entries: Pick<ManifestEntry, 'id' | 'dependencies' | 'deliverables'>[],
  size: number,
): string[][] {
  const batchOf = new Map<string, number>();
  const lastWriter = new Map<string, string>();
  const batches: string[][] = [];
  for (const e of entries) {
    const preds = [
      ...e.dependencies,
      ...e.deliverables.flatMap((f) => (lastWriter.has(f) ? [lastWriter.get(f)!] : [])),
    ];
    let b = Math.max(-1, ...preds.map((d) => batchOf.get(d) ?? -1)) + 1;
    while ((batches[b]?.length ?? 0) >= size) b++;
    (batches[b] ??= []).push(e.id);
    batchOf.set(e.id, b);
    for (const f of e.deliverables) lastWriter.set(f, e.id);
  }
  return batches;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string' },
      workspace: { type: 'string' },
      'python-root': { type: 'string', default: 'wingman' },
      'batch-size': { type: 'string', default: '50' },
      out: { type: 'string' },
      limit: { type: 'string' },
      sequential: { type: 'boolean', default: false },
    },
  });
  const config = readConfig();
  const workspace = path.resolve(values.workspace!);
  const pythonRoot = values['python-root']!;
  const reportPath = path.join(config.stateDir, 'fixed-report', 'report.json');
  const { entries: all } = await loadManifest({ workersDir: path.resolve(values.workers!), workspace, pythonRoot });
  const entries = values.limit ? all.slice(0, Number(values.limit)) : all;
  const manifest = await saveManifest(path.join(config.stateDir, 'manifests'), entries);
  const deliverables = new Map(entries.map((e) => [e.id, e.deliverables]));
  const activities = createActivities(config);
  const ws = activities.parts;
  mkdirSync(path.join(workspace, pythonRoot), { recursive: true });

  async function runWorker(id: string, batch: number): Promise<FixedWorkerTiming> {
    const t: FixedWorkerTiming = { id, batch, startMs: Date.now(), endMs: 0, outcome: 'error', steps: {} };
    const timed = async <T>(step: Step, fn: () => Promise<T>): Promise<T> => {
      const s = performance.now();
      try {
        return await fn();
      } finally {
        t.steps[step] = (t.steps[step] ?? 0) + performance.now() - s;
      }
    };
    try {
      const entry = await timed('loadEntry', () => loadEntry({ manifest, workerId: id }));
      const dependencyFiles = [...new Set(entry.dependencies.flatMap((d) => deliverables.get(d) ?? []))];
      const prompt = await timed('preparePrompt', () =>
        ws.preparePrompt({
          workerId: id,
          instructionFile: entry.file,
          instructionSha256: entry.sha256,
          deliverables: entry.deliverables,
          dependencyFiles,
          workspace,
          pythonRoot,
          feedback: null,
        }),
      );
      const gen = await timed('generate', () =>
        activities.llm.generateOpenAI({
          workerId: id,
          promptRef: prompt.promptRef,
          timeoutMs: config.WINGMAN_LLM_TIMEOUT_MS,
          cache: false,
        }),
      );
      const inspection = await timed('inspectOutput', () =>
        ws.inspectOutput({ outputRef: gen.outputRef, deliverables: entry.deliverables }),
      );
      let outcome: FixedWorkerTiming['outcome'] = 'passed';
      let files: string[] = [];
      let tests = { passed: 0, failed: 0 };
      if (inspection.guide) outcome = 'guide';
      else {
        const { written } = await timed('writeDeliverables', () =>
          ws.writeDeliverables({ workspace, files: inspection.files }),
        );
        files = written.map((f) => f.path);
        const run = await timed('runTests', () =>
          ws.runTests({ workerId: id, workspace, pythonRoot, commands: entry.testCommands }),
        );
        tests = { passed: run.passed, failed: run.failed };
        if (!run.ok) outcome = 'failed';
        else {
          const criteria = await timed('checkCriteria', () =>
            ws.checkCriteria({
              workerId: id,
              instructionFile: entry.file,
              workspace,
              pythonRoot,
              deliverables: entry.deliverables,
              tests,
            }),
          );
          if (!criteria.ok) outcome = 'failed';
        }
      }
      await timed('storeRetrospective', () =>
        ws.storeRetrospective({
          batchId: 'fixed',
          workerId: id,
          name: entry.name,
          outcome,
          provider: gen.provider,
          attempts: 1,
          files,
          notes: [],
        }),
      );
      t.endMs = Date.now();
      const result = {
        id,
        name: entry.name,
        outcome,
        provider: gen.provider,
        model: gen.model,
        attempts: 1,
        files,
        tests,
        tokens: gen.tokens,
        costUsd: gen.costUsd,
        startedAt: new Date(t.startMs).toISOString(),
        finishedAt: new Date(t.endMs).toISOString(),
        durationMs: t.endMs - t.startMs,
        error: null,
        lastStep: `ended ${outcome}`,
        cacheHits: 0,
        savedUsd: 0,
        outputRef: gen.outputRef.sha256,
        instructionSha256: entry.sha256,
        testOutputRef: null,
      };
      await timed('recordResult', () =>
        ws.recordResult({ reportPath, result: result as Parameters<typeof ws.recordResult>[0]['result'] }),
      );
      t.outcome = outcome;
    } catch (err) {
      t.error = (err as Error).message;
    }
    t.endMs = Date.now();
    return t;
  }

  const size = values.sequential ? 1 : Number(values['batch-size']);
  const batches = fixedBatches(entries, size);
  const timings: FixedWorkerTiming[] = [];
  const started = Date.now();
  for (const [b, ids] of batches.entries()) {
    // asyncio.gather: the whole batch at once, and the next one only when all of it is done.
    timings.push(...(await Promise.all(ids.map((id) => runWorker(id, b)))));
  }
  const makespanMs = Math.max(...timings.map((t) => t.endMs)) - started;
  const counts: Record<string, number> = {};
  for (const t of timings) counts[t.outcome] = (counts[t.outcome] ?? 0) + 1;
  const out: FixedBatchResult = {
    mode: values.sequential ? 'sequential' : 'batches',
    batchSize: size,
    batches: batches.map((b) => b.length),
    workers: timings,
    makespanMs,
    counts,
  };
  mkdirSync(path.dirname(path.resolve(values.out!)), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(out));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}

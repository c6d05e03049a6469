// The report lists every worker once, with the outcome the batch counted: a worker counted
// `error` (it could not start, or its workflow was terminated) is not rewritten as `skipped`.
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readPlan, saveManifest } from '../../../src/activities/manifest-store.js';
import { buildReport, recordResult } from '../../../src/activities/report.js';
import { OUTCOMES, type InstructionResult, type ManifestEntry } from '../../../src/schemas.js';

function entry(id: string, dependencies: string[] = []): ManifestEntry {
  return {
    id,
    name: `Worker ${id}`,
    file: `/i/${id}.md`,
    sha256: 'a'.repeat(64),
    deliverables: [`wingman/${id}.py`],
    dependencies,
    provider: 'openai',
    testCommands: [],
    replay: null,
    generationEstimateUsd: 0,
  };
}

function result(id: string, outcome: InstructionResult['outcome']): InstructionResult {
  return {
    id,
    name: `Worker ${id}`,
    outcome,
    provider: 'openai',
    model: 'm',
    attempts: 1,
    files: [],
    tests: { passed: 1, failed: 0 },
    tokens: { prompt: 1, completion: 1 },
    costUsd: 0.01,
    startedAt: 'a',
    finishedAt: 'b',
    durationMs: 1,
    error: null,
    lastStep: 'done',
    cacheHits: 0,
    savedUsd: 0,
    outputRef: null,
    instructionSha256: null,
    testOutputRef: null,
    failures: [],
    changes: null,
  };
}

describe('buildReport', () => {
  test("the batch's outcome for every worker, once; counts equal the outcomes listed", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wingman-report-'));
    const reportPath = path.join(dir, 'report.json');
    // Plan order: 1, 2 (after 1), 3, 4, 5.
    const manifest = await saveManifest(dir, [
      entry('WORKER_1'),
      entry('WORKER_2', ['WORKER_1']),
      entry('WORKER_3'),
      entry('WORKER_4'),
      entry('WORKER_5'),
    ]);
    expect((await readPlan(manifest)).map((e) => e.id)).toEqual([
      'WORKER_1',
      'WORKER_2',
      'WORKER_3',
      'WORKER_4',
      'WORKER_5',
    ]);
    await recordResult({ reportPath, result: result('WORKER_1', 'failed') });
    // Recorded as passed, then terminated before it could report back: the batch counted it error.
    await recordResult({ reportPath, result: result('WORKER_4', 'passed') });
    const counts = { passed: 0, failed: 1, guide: 0, llm_timeout: 0, error: 2, skipped: 2 };
    const report = await buildReport({
      reportPath,
      manifest,
      summary: {
        batchId: 'b',
        status: 'aborted',
        abortReason: 'x',
        counts,
        costUsd: 0,
        tokens: { prompt: 0, completion: 0 },
        startedAt: 's',
        finishedAt: 'f',
      },
      outcomes: 'fsees',
      notRun: [
        { reason: 'dependency WORKER_1 ended failed', indices: '1' },
        { reason: 'could not start: quota', indices: '2' },
        { reason: 'worker workflow terminated without reporting back', indices: '3' },
        { reason: 'not started: x', indices: '4' },
      ],
    });
    expect(report.workers.map((w) => [w.id, w.outcome, w.error])).toEqual([
      ['WORKER_1', 'failed', null],
      ['WORKER_2', 'skipped', 'dependency WORKER_1 ended failed'],
      ['WORKER_3', 'error', 'could not start: quota'],
      ['WORKER_4', 'error', 'worker workflow terminated without reporting back'],
      ['WORKER_5', 'skipped', 'not started: x'],
    ]);
    expect(Object.fromEntries(OUTCOMES.map((o) => [o, report.workers.filter((w) => w.outcome === o).length]))).toEqual(
      counts,
    );
    expect(report.suite).toBeNull();
  });
});

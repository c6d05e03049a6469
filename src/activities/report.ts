// The batch report. Each worker records its own result as it ends, so the parent's history
// holds counters only and the report is assembled from files at the end.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from './write-atomic.js';
import { Report, InstructionResult } from '../schemas.js';
import { readManifest, readPlan } from './manifest-store.js';
import { expandRanges, outcomeOfLetter } from '../workflows/batch/ledger.js';
import { recordWorkerOutcome } from '../temporal/metrics.js';
import type { ReportActivities, ReportRequest } from './types.js';
import { log } from '@temporalio/activity';
import type { ArtifactStore } from './artifacts.js';
import { writeHumanReports } from '../report/write.js';
import { tail } from './tests.js';
import { blankResult } from '../workflows/instruction/blank-result.js';
import { detectIsolation } from './process/sandbox.js';

const resultFile = (reportPath: string, workerId: string) =>
  path.join(path.dirname(reportPath), 'workers', `${workerId}.json`);

export async function recordResult(req: { reportPath: string; result: InstructionResult }): Promise<void> {
  await writeAtomic(resultFile(req.reportPath, req.result.id), JSON.stringify(req.result, null, 2));
  recordWorkerOutcome(req.result);
}

/**
 * Every worker of the plan exactly once, with the outcome the batch counted (so `counts[o]` is
 * the number of workers listed with `o`), the details its own result recorded, and for the ones
 * that did not run, why.
 */
export async function buildReport(req: ReportRequest): Promise<Report> {
  const plan = await readPlan(req.manifest);
  const why = new Map<number, string>();
  for (const { reason, indices } of req.notRun) for (const i of expandRanges(indices)) why.set(i, reason);
  const planIndex = new Map(plan.map((e, i) => [e.id, i]));
  const workers: Report['workers'] = [];
  for (const w of (await readManifest(req.manifest)).values()) {
    const i = planIndex.get(w.id)!;
    const outcome = outcomeOfLetter(req.outcomes[i] ?? '') ?? 'error';
    const reason = why.get(i) ?? (outcomeOfLetter(req.outcomes[i] ?? '') ? null : 'the batch recorded no outcome');
    const recorded = await readResult(req.reportPath, w.id);
    if (recorded) {
      // The batch's count wins: a result recorded before its workflow was terminated is listed as the batch counted it.
      workers.push(recorded.outcome === outcome ? recorded : { ...recorded, outcome, error: reason ?? recorded.error });
    } else {
      const lastStep = outcome === 'skipped' ? 'not started' : 'no result recorded';
      workers.push({
        ...blankResult(w.id, w.name, outcome, lastStep, reason ?? 'no result recorded'),
        startedAt: null,
        finishedAt: null,
      });
    }
  }
  const cache = {
    hits: workers.reduce((n, w) => n + w.cacheHits, 0),
    savedUsd: workers.reduce((n, w) => n + w.savedUsd, 0),
  };
  // Written on the workspace host, whose isolation is the one the tests ran in.
  const isolation = await detectIsolation().catch(() => null);
  return Report.parse({ ...req.summary, cache, isolation, suite: req.suite ?? null, workers });
}

export async function writeReport(store: ArtifactStore, req: ReportRequest): Promise<void> {
  const report = await buildReport(req);
  await writeAtomic(req.reportPath, `${JSON.stringify(report, null, 2)}\n`);
  // report.md and report.html beside it are for people: a rendering problem never fails the report.
  try {
    const manifest = await readManifest(req.manifest);
    const dependencies = Object.fromEntries([...manifest.values()].map((e) => [e.id, e.dependencies]));
    const testOutput: Record<string, string> = {};
    for (const w of report.workers) {
      if (w.outcome !== 'passed' && w.testOutputRef && (await store.has(w.testOutputRef)))
        testOutput[w.id] = tail(await store.get(w.testOutputRef), 4_000);
    }
    await writeHumanReports(req.reportPath, report, { dependencies, testOutput });
  } catch (err) {
    log.warn('report.md / report.html not written', { reportPath: req.reportPath, error: (err as Error).message });
  }
}

async function readResult(reportPath: string, workerId: string): Promise<InstructionResult | null> {
  try {
    return InstructionResult.parse(JSON.parse(await readFile(resultFile(reportPath, workerId), 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function createReportActivities(store: ArtifactStore): ReportActivities {
  return { recordResult, writeReport: (req) => writeReport(store, req) };
}

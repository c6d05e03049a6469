// The batch's manifest lives in a file on the workspace host, content-addressed; workflows
// hold only its reference and load the parts they need: the plan in compact pages, and the
// names and files of the workers about to start.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { sha256 } from './artifacts.js';
import { writeAtomic } from './write-atomic.js';
import { ManifestEntry, PlanPage, PROVIDER_CODES, type ManifestRef, type PlanDetail } from '../schemas.js';
import { dependencyOrder } from '../instructions/ordering.js';
import type { ManifestActivities } from './types.js';

export async function saveManifest(dir: string, entries: ManifestEntry[]): Promise<ManifestRef> {
  const text = JSON.stringify(entries);
  const hash = sha256(text);
  const file = path.join(dir, `${hash}.json`);
  await writeAtomic(file, text);
  return { file, sha256: hash, total: entries.length };
}

// Workers of one process read the same manifest thousands of times: parse it once.
const cache = new Map<string, Map<string, ManifestEntry>>();

export async function readManifest(ref: ManifestRef): Promise<Map<string, ManifestEntry>> {
  const cached = cache.get(ref.sha256);
  if (cached) return cached;
  const text = await readFile(ref.file, 'utf8');
  if (sha256(text) !== ref.sha256) {
    throw ApplicationFailure.create({
      type: 'ManifestChanged',
      message: `manifest ${ref.file} changed since the batch started`,
      nonRetryable: true,
    });
  }
  const entries = ManifestEntry.array().parse(JSON.parse(text));
  const byId = new Map(entries.map((e) => [e.id, e]));
  cache.set(ref.sha256, byId);
  return byId;
}

/** Entries per page of the compact plan: ~25 bytes each, so a page stays far below the 2 MB payload limit. */
export const PLAN_PAGE_SIZE = 5_000;
/** Entries per page of start details (names, files): fetched as the batch reaches them. */
export const DETAILS_PAGE_SIZE = 500;

/** The manifest in plan order (dependency order, ties by id): the index the batch, its state and the report share. */
export async function readPlan(ref: ManifestRef): Promise<ManifestEntry[]> {
  const cached = planCache.get(ref.sha256);
  if (cached) return cached;
  const { order, blocked } = dependencyOrder([...(await readManifest(ref)).values()]);
  const plan = [...order, ...blocked];
  planCache.set(ref.sha256, plan);
  return plan;
}
const planCache = new Map<string, ManifestEntry[]>();

export async function loadPlanPage(req: { manifest: ManifestRef; page: number }): Promise<PlanPage> {
  const plan = await readPlan(req.manifest);
  const index = new Map(plan.map((e, i) => [e.id, i]));
  const start = req.page * PLAN_PAGE_SIZE;
  const entries = plan.slice(start, start + PLAN_PAGE_SIZE);
  // The earlier writers of each file, found by walking the plan up to this page's end.
  const lastWriter = new Map<string, number>();
  const after: number[][] = [];
  plan.slice(0, start + entries.length).forEach((e, i) => {
    const writers = e.deliverables.map((f) => lastWriter.get(f)).filter((w): w is number => w !== undefined);
    const earlier = [...new Set(writers)];
    if (i >= start) after.push(earlier);
    for (const f of e.deliverables) lastWriter.set(f, i);
  });
  return PlanPage.parse({
    total: plan.length,
    start,
    ids: entries.map((e) => e.id).join(' '),
    deps: entries.map((e) => e.dependencies.map((d) => index.get(d)).filter((d): d is number => d !== undefined)),
    after,
    providers: entries.map((e) => PROVIDER_CODES[e.provider]).join(''),
    estimateMicroUsd: entries.map((e) => Math.ceil(e.generationEstimateUsd * 1_000_000)),
  });
}

export async function loadPlanDetails(req: {
  manifest: ManifestRef;
  start: number;
  count: number;
}): Promise<PlanDetail[]> {
  const byId = await readManifest(req.manifest);
  const plan = await readPlan(req.manifest);
  return plan.slice(req.start, req.start + req.count).map((e) => ({
    name: e.name,
    deliverables: e.deliverables,
    dependencyFiles: [...new Set(e.dependencies.flatMap((d) => byId.get(d)?.deliverables ?? []))],
  }));
}

export async function loadEntry(req: { manifest: ManifestRef; workerId: string }): Promise<ManifestEntry> {
  const entry = (await readManifest(req.manifest)).get(req.workerId);
  if (!entry)
    throw ApplicationFailure.create({
      type: 'UnknownWorker',
      message: `${req.workerId} is not in the manifest`,
      nonRetryable: true,
    });
  return entry;
}

export const manifestActivities: ManifestActivities = { loadPlanPage, loadPlanDetails, loadEntry };

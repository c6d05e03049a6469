// The batch's manifest lives in a file on the workspace host, content-addressed; workflows
// hold only its reference and load the parts they need.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { sha256 } from './artifacts.js';
import { writeAtomic } from './write-atomic.js';
import { ManifestEntry, type ManifestRef, type PlanEntry } from '../schemas.js';
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
    throw ApplicationFailure.create({ type: 'ManifestChanged', message: `manifest ${ref.file} changed since the batch started`, nonRetryable: true });
  }
  const entries = ManifestEntry.array().parse(JSON.parse(text));
  const byId = new Map(entries.map((e) => [e.id, e]));
  cache.set(ref.sha256, byId);
  return byId;
}

export async function loadPlan(ref: ManifestRef): Promise<PlanEntry[]> {
  return [...(await readManifest(ref)).values()].map(({ id, name, dependencies, deliverables, provider }) => ({
    id, name, dependencies, deliverables, provider,
  }));
}

export async function loadEntry(req: { manifest: ManifestRef; workerId: string }): Promise<ManifestEntry> {
  const entry = (await readManifest(req.manifest)).get(req.workerId);
  if (!entry) throw ApplicationFailure.create({ type: 'UnknownWorker', message: `${req.workerId} is not in the manifest`, nonRetryable: true });
  return entry;
}

export const manifestActivities: ManifestActivities = { loadPlan, loadEntry };

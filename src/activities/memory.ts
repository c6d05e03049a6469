// Retrospectives go to mem0 (self-hosted REST: `POST /memories`, no /v1 prefix) when
// MEM0_API_URL is set, else, or when mem0 fails, to a local JSONL file. A retrospective never
// fails the worker: this never throws. The same stores are read back (mem0's `POST /search`,
// the JSONL file) for the lessons a worker's first prompt carries (lessons.ts).
import { appendFile, mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { request } from 'undici';
import type { ArtifactStore } from './artifacts.js';
import type { Config } from '../config.js';
import { parseInstruction } from '../instructions/parse.js';
import { Retrospective, type Failure } from '../schemas.js';
import {
  answerQuestions,
  chooseLessons,
  failuresOf,
  lessonRecord,
  lessonSentence,
  LESSONS_MAX,
  packagesOf,
  retrospectiveQuestions,
  scrubSecrets,
  type ChosenLesson,
  type LessonRecord,
  type LessonTarget,
} from './lessons.js';

export const MEM0_TIMEOUT_MS = 5_000;
/** A lesson search waits this long for mem0: the first prompt should not wait on a slow memory. */
export const MEM0_SEARCH_TIMEOUT_MS = 3_000;

/** What the activity learns beyond the result: from the instruction and the last test log. */
export interface RetrospectiveDetails {
  dependencies: string[];
  failures: Failure[];
  answers: Array<{ question: string; answer: string }>;
  lesson: string | null;
}

/** The retrospective as a person (or mem0's fact extraction) reads it. */
export function retrospectiveText(r: Retrospective, d?: RetrospectiveDetails): string {
  const lines = [
    `Worker ${r.workerId} (${r.name}) in batch ${r.batchId} ended ${r.outcome} ` +
      `after ${r.attempts} generation${r.attempts === 1 ? '' : 's'}` +
      (r.provider
        ? ` with provider ${r.provider}${r.model ? ` (${r.model})` : ''}.`
        : ' without a provider answering.'),
    r.files.length > 0 ? `Files: ${r.files.join(', ')}.` : 'No files were written.',
  ];
  if (r.durationMs !== undefined || r.costUsd !== undefined) {
    const tokens = r.tokens ? `, ${r.tokens.prompt} prompt + ${r.tokens.completion} completion tokens` : '';
    lines.push(`Took ${Math.round((r.durationMs ?? 0) / 100) / 10} s, cost $${(r.costUsd ?? 0).toFixed(4)}${tokens}.`);
  }
  if (r.tests) lines.push(`Tests: ${r.tests.passed} passed, ${r.tests.failed} failed.`);
  if (d && d.dependencies.length > 0) lines.push(`Depends on: ${d.dependencies.join(', ')}.`);
  if (d && d.failures.length > 0) {
    lines.push(
      'Attempts that failed:',
      ...d.failures.map((f) => `- attempt ${f.attempt} (${f.kind}): ${scrubSecrets(f.message).slice(0, 300)}`),
    );
  }
  if (r.changes) lines.push(`What changed before it passed: ${r.changes}`);
  if (d && d.answers.length > 0)
    lines.push('Retrospective questions:', ...d.answers.map((a) => `- ${a.question} ${a.answer}`));
  if (r.notes.length > 0) lines.push('Notes:', ...r.notes.map((n) => `- ${n}`));
  if (d?.lesson) lines.push(`Lesson: ${d.lesson}`);
  return lines.join('\n');
}

function warn(message: string, attrs: Record<string, unknown>): void {
  try {
    Context.current().log.warn(message, attrs);
  } catch {
    console.warn(message, attrs);
  }
}

export interface MemoryDeps {
  config: Config;
  /** Where the instruction (put there by preparePrompt) and the test logs are. */
  store?: ArtifactStore;
  mem0TimeoutMs?: number;
}

/** The instruction's dependencies and RETROSPECTIVE questions, the failures and the lesson. Never throws. */
export async function retrospectiveDetails(deps: MemoryDeps, r: Retrospective): Promise<RetrospectiveDetails> {
  let dependencies: string[] = [];
  let questions: string[] = [];
  let testOutput: string | null = null;
  const get = async (ref: string | null | undefined) =>
    ref && deps.store && (await deps.store.has(ref)) ? deps.store.get(ref) : null;
  try {
    const instruction = await get(r.instructionSha256);
    if (instruction !== null) {
      const parsed = parseInstruction(instruction, `${r.workerId}.md`);
      dependencies = parsed.dependencies;
      questions = retrospectiveQuestions(parsed.sections.RETROSPECTIVE);
    }
    // The last test log: the failure of a result without an attempt log, or the whole of a message pytest cut.
    if (r.outcome === 'failed') testOutput = await get(r.testOutputRef);
  } catch (e) {
    warn('retrospective details not read', { workerId: r.workerId, error: (e as Error).message });
  }
  const failures = failuresOf(r, testOutput);
  const withFailures = { ...r, failures };
  return {
    dependencies,
    failures,
    answers: answerQuestions(questions, withFailures),
    lesson: lessonSentence(withFailures, failures),
  };
}

export async function storeRetrospective(
  deps: MemoryDeps,
  input: Retrospective,
): Promise<{ stored: 'mem0' | 'local' }> {
  const parsed = Retrospective.safeParse(input);
  // Even a malformed one is kept locally rather than lost.
  const r = parsed.success ? parsed.data : (input as Retrospective);
  const details = parsed.success ? await retrospectiveDetails(deps, r) : undefined;
  const text = retrospectiveText(r, details);
  const storedAt = new Date().toISOString();
  const record = details ? lessonRecord(r, { ...details, storedAt }) : null;
  let mem0Error: string | undefined;
  const base = deps.config.MEM0_API_URL;
  if (base && parsed.success) {
    try {
      await postToMem0(deps.config, base, r, text, record, deps.mem0TimeoutMs ?? MEM0_TIMEOUT_MS);
      return { stored: 'mem0' };
    } catch (e) {
      mem0Error = (e as Error).message;
      warn('mem0 unavailable, keeping the retrospective locally', { workerId: r.workerId, error: mem0Error });
    }
  }
  const file = localMemoryFile(deps.config);
  const extra = details
    ? { dependencies: details.dependencies, failures: details.failures, answers: details.answers, lesson: record }
    : {};
  const line = JSON.stringify({ ...r, ...extra, text, storedAt, ...(mem0Error ? { mem0Error } : {}) });
  try {
    await mkdir(deps.config.stateDir, { recursive: true });
    // One write with O_APPEND: concurrent workers' lines do not interleave.
    await appendFile(file, `${line}\n`);
  } catch (e) {
    warn('could not store the retrospective locally either', {
      workerId: r.workerId,
      file,
      error: (e as Error).message,
    });
  }
  return { stored: 'local' };
}

export function localMemoryFile(config: Config): string {
  return path.join(config.stateDir, 'memory.jsonl');
}

function mem0Headers(config: Config): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (config.MEM0_API_KEY) headers['x-api-key'] = config.MEM0_API_KEY;
  return headers;
}

async function postToMem0(
  config: Config,
  base: string,
  r: Retrospective,
  text: string,
  lesson: LessonRecord | null,
  timeoutMs: number,
): Promise<void> {
  const body = JSON.stringify({
    messages: [{ role: 'user', content: text }],
    user_id: config.MEM0_USER_ID,
    metadata: {
      batchId: r.batchId,
      workerId: r.workerId,
      name: r.name,
      outcome: r.outcome,
      provider: r.provider,
      model: r.model ?? null,
      attempts: r.attempts,
      files: r.files,
      durationMs: r.durationMs ?? null,
      costUsd: r.costUsd ?? null,
      instructionSha256: r.instructionSha256 ?? null,
      source: 'wingman-orchestrator',
      // Read back by the lesson lookup, whatever mem0's fact extraction makes of the text.
      ...(lesson
        ? {
            lesson: lesson.lesson,
            packages: lesson.packages,
            dependencies: lesson.dependencies,
            errorClasses: lesson.errorClasses,
          }
        : {}),
    },
  });
  const res = await request(`${base.replace(/\/+$/, '')}/memories`, {
    method: 'POST',
    headers: mem0Headers(config),
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const reply = await res.body.text(); // read it all, so the connection is released
  if (res.statusCode < 200 || res.statusCode >= 300)
    throw new Error(`mem0 answered ${res.statusCode}: ${reply.slice(0, 200)}`);
}

// ---- reading lessons back ----

/**
 * The lessons for a worker about to start: mem0's search (when configured) and the local file
 * (where retrospectives go when mem0 is not configured or was down), ranked by lessons.ts.
 * Never throws: a worker without lessons is a worker as before.
 */
export async function findLessons(deps: MemoryDeps, target: LessonTarget, max = LESSONS_MAX): Promise<ChosenLesson[]> {
  const records: LessonRecord[] = [];
  let passedBefore = false;
  try {
    const local = await readLocalMemory(localMemoryFile(deps.config));
    records.push(...local.records);
    passedBefore ||= !!target.instructionSha256 && local.passed.has(target.instructionSha256);
  } catch (e) {
    warn('local lessons not read', { workerId: target.workerId, error: (e as Error).message });
  }
  if (deps.config.MEM0_API_URL && !passedBefore) {
    try {
      const found = await searchMem0(deps.config, deps.config.MEM0_API_URL, target);
      records.push(...found.records);
      passedBefore ||= found.passedBefore;
    } catch (e) {
      warn('mem0 search failed, lessons from the local store only', {
        workerId: target.workerId,
        error: (e as Error).message,
      });
    }
  }
  // This very instruction passed before: its prompt stays the one it passed with (and the generation
  // cache holds), so a re-run with --cache does not pay for it again.
  if (passedBefore) return [];
  return chooseLessons(records, target, max);
}

/** The searches a worker makes: one per dependency (a few), one for its files and package, one for common errors. */
export function lessonQueries(target: LessonTarget): string[] {
  const pkgs = packagesOf(target.deliverables);
  return [
    ...target.dependencies.slice(0, 3).map((d) => `${d} lesson`),
    `lesson ${[...target.deliverables, ...pkgs].join(' ')}`,
    `lesson ${target.workerId}`,
    'lesson failed its tests Error',
    ...(target.instructionSha256 ? [`Worker ${target.workerId} ended passed`] : []),
  ];
}

async function searchMem0(
  config: Config,
  base: string,
  target: LessonTarget,
): Promise<{ records: LessonRecord[]; passedBefore: boolean }> {
  const results = await Promise.all(
    lessonQueries(target).map(async (query) => {
      const res = await request(`${base.replace(/\/+$/, '')}/search`, {
        method: 'POST',
        headers: mem0Headers(config),
        // The self-hosted server reads `user_id` (older) or `filters.user_id` (newer): send both.
        body: JSON.stringify({ query, user_id: config.MEM0_USER_ID, filters: { user_id: config.MEM0_USER_ID } }),
        headersTimeout: MEM0_SEARCH_TIMEOUT_MS,
        bodyTimeout: MEM0_SEARCH_TIMEOUT_MS,
        signal: AbortSignal.timeout(MEM0_SEARCH_TIMEOUT_MS),
      });
      const reply = await res.body.text();
      if (res.statusCode < 200 || res.statusCode >= 300)
        throw new Error(`mem0 search answered ${res.statusCode}: ${reply.slice(0, 200)}`);
      const json = JSON.parse(reply) as unknown;
      // `{results: [...]}`, or a bare list from older servers.
      return Array.isArray(json)
        ? json
        : Array.isArray((json as { results?: unknown }).results)
          ? (json as { results: unknown[] }).results
          : [];
    }),
  );
  const hits = results.flat();
  const passedBefore = hits.some((h) => {
    const m = (h as { metadata?: Record<string, unknown> | null } | null)?.metadata;
    return (
      !!m && m.outcome === 'passed' && !!target.instructionSha256 && m.instructionSha256 === target.instructionSha256
    );
  });
  return { records: hits.map(fromMem0).filter((r): r is LessonRecord => r !== null), passedBefore };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** A search hit as a lesson: its metadata when mem0 kept ours, else what its `memory` text says. */
export function fromMem0(hit: unknown): LessonRecord | null {
  if (!hit || typeof hit !== 'object') return null;
  const h = hit as { memory?: unknown; metadata?: Record<string, unknown> | null; created_at?: unknown };
  const memory = typeof h.memory === 'string' ? h.memory : '';
  const m = h.metadata ?? {};
  const lessonLine = /^Lesson: (.+)$/m.exec(memory)?.[1];
  const lesson = lessonLine ?? (typeof m.lesson === 'string' ? m.lesson : null);
  const workerId = typeof m.workerId === 'string' ? m.workerId : /\b(WORKER_\d+)\b/.exec(memory)?.[1];
  if (!lesson || !workerId) return null;
  const files =
    strings(m.files).length > 0 ? strings(m.files) : (/^Files: (.+)\.$/m.exec(memory)?.[1]?.split(', ') ?? []);
  return {
    workerId,
    batchId: typeof m.batchId === 'string' ? m.batchId : null,
    outcome: typeof m.outcome === 'string' ? m.outcome : 'unknown',
    files,
    packages: strings(m.packages).length > 0 ? strings(m.packages) : packagesOf(files),
    dependencies: strings(m.dependencies),
    errorClasses: strings(m.errorClasses),
    lesson,
    storedAt: typeof h.created_at === 'string' ? h.created_at : null,
  };
}

/**
 * The lessons in the local JSONL file. Read incrementally: each call reads only what was
 * appended since the last one (a batch of thousands would otherwise re-read the whole file per worker).
 */
interface LocalMemory {
  offset: number;
  records: LessonRecord[];
  /** Instructions (sha256) that passed. */
  passed: Set<string>;
}
const localCache = new Map<string, LocalMemory>();

export async function readLocalLessons(file: string): Promise<LessonRecord[]> {
  return (await readLocalMemory(file)).records;
}

export async function readLocalMemory(file: string): Promise<Omit<LocalMemory, 'offset'>> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], passed: new Set() };
    throw e;
  }
  try {
    const { size } = await handle.stat();
    let cached = localCache.get(file);
    if (!cached || size < cached.offset) {
      cached = { offset: 0, records: [], passed: new Set() };
      localCache.set(file, cached);
    }
    if (size === cached.offset) return cached;
    const buf = Buffer.alloc(size - cached.offset);
    const { bytesRead } = await handle.read(buf, 0, buf.length, cached.offset);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const end = text.lastIndexOf('\n'); // a line still being written waits for the next call
    if (end < 0) return cached;
    for (const line of text.slice(0, end).split('\n')) readLocalLine(line, cached);
    cached.offset += Buffer.byteLength(text.slice(0, end + 1));
    return cached;
  } finally {
    await handle.close();
  }
}

function readLocalLine(line: string, into: LocalMemory): void {
  try {
    const json = JSON.parse(line) as { lesson?: LessonRecord | null; outcome?: unknown; instructionSha256?: unknown };
    const l = json.lesson;
    if (l && typeof l === 'object' && typeof l.lesson === 'string' && typeof l.workerId === 'string')
      into.records.push(l);
    if (json.outcome === 'passed' && typeof json.instructionSha256 === 'string')
      into.passed.add(json.instructionSha256);
  } catch {
    // a damaged line costs one lesson, not the lookup
  }
}

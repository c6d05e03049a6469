// What one worker's retrospective teaches the workers after it. A retrospective becomes a short
// lesson (what failed, in a sentence, and what fixed it); before its first generation a worker
// ranks the stored lessons by how close their author is to it (a dependency, the same file, the
// same package, the same error class) and its prompt carries the best few, bounded and scrubbed.
import type { Failure, Retrospective } from '../schemas.js';

/** The prompt's lessons section stays under this many characters... */
export const LESSONS_MAX_CHARS = 1_500;
/** ...and this many lessons. */
export const LESSONS_MAX = 5;
/** One lesson, as stored and as shown. */
export const LESSON_MAX_CHARS = 400;
/** Lines of test output a lesson may quote. */
const MAX_OUTPUT_LINES = 3;

/** A retrospective as the lesson lookup reads it back (from mem0's metadata or the local store). */
export interface LessonRecord {
  workerId: string;
  batchId: string | null;
  outcome: string;
  files: string[];
  /** Directories of the files (`wingman/validation`): workers in the same package learn from each other. */
  packages: string[];
  /** The author's own dependencies. */
  dependencies: string[];
  /** `AssertionError`, `ModuleNotFoundError`, `guide`, `criteria`, `llm`… */
  errorClasses: string[];
  /** The lesson sentence. */
  lesson: string;
  storedAt: string | null;
}

/** What a worker about to start knows about itself. */
export interface LessonTarget {
  workerId: string;
  /** The instruction's sha256: one that passed before needs no lessons (and keeps its cached prompt). */
  instructionSha256?: string;
  dependencies: string[];
  deliverables: string[];
}

export interface ChosenLesson {
  record: LessonRecord;
  /** Why it was chosen: "your dependency WORKER_001", "wrote the same file", … */
  why: string;
}

// ---- scrubbing ----

const SECRET_PATTERNS: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{8,}/g, // OpenAI-style keys
  /\b(?:ghp|gho|ghs|github_pat|xox[abp]|AKIA)[A-Za-z0-9_-]{8,}/g, // GitHub, Slack, AWS
  /\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  // Long opaque runs with letters and digits (keys, tokens, hashes); identifiers have underscores and stay.
  /\b(?=[A-Za-z0-9+=]*\d)(?=[A-Za-z0-9+=]*[A-Za-z])[A-Za-z0-9+=]{32,}/g,
];
/** `API_KEY=...`, `"password": "..."`: the name stays, the value goes. */
const NAMED_SECRET =
  /\b([A-Za-z_]*(?:api[_-]?key|secret|token|password|passwd)[A-Za-z_]*)(["']?\s*[:=]\s*["']?)(?!\d+\b)[^\s"',]{6,}/gi;

/** Removes anything that looks like a key or token; lessons travel to prompts and to mem0. */
export function scrubSecrets(text: string): string {
  let out = text.replace(NAMED_SECRET, (_m, name: string, sep: string) => `${name}${sep}[redacted]`);
  for (const re of SECRET_PATTERNS) out = out.replace(re, '[redacted]');
  return out;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// ---- reading failures ----

/**
 * The failing assertions of a pytest log, at most three: each failing test's id (from the short
 * test summary, whose message pytest cuts to the terminal width) with the first `E   ` line of its
 * section (the whole message); else the summary lines; else lines naming an error.
 */
export function failingAssertions(output: string): string[] {
  const lines = output.split(/\r?\n/);
  const summary = lines.filter((l) => /^(?:FAILED|ERROR) \S+/.test(l));
  const ids = summary.map((l) =>
    l
      .replace(/^(?:FAILED|ERROR) /, '')
      .split(' - ')[0]!
      .trim(),
  );
  // The first E line of each failure's section (`____ test_name ____`).
  const firstE: string[] = [];
  let inSection = false;
  for (const l of lines) {
    if (/^_{3,} .+ _{3,}$/.test(l)) inSection = true;
    else if (inSection && /^E\s{2,}\S/.test(l)) {
      firstE.push(l.replace(/^E\s+/, ''));
      inSection = false;
    }
  }
  if (firstE.length > 0) {
    return firstE
      .slice(0, MAX_OUTPUT_LINES)
      .map((e, i) => oneLine(ids.length === firstE.length ? `${ids[i]}: ${e}` : e, 240));
  }
  if (summary.length > 0) return summary.slice(0, MAX_OUTPUT_LINES).map((l) => oneLine(l, 240));
  const e = lines.filter((l) => /^E\s{2,}\S/.test(l)).map((l) => l.replace(/^E\s+/, ''));
  if (e.length > 0) return e.slice(0, MAX_OUTPUT_LINES).map((l) => oneLine(l, 240));
  const errors = lines.filter((l) => /\b[A-Z]\w*(?:Error|Exception)\b:/.test(l));
  return errors.slice(0, MAX_OUTPUT_LINES).map((l) => oneLine(l, 240));
}

/** `AssertionError` from "… - AssertionError: assert 1 == 2"; the failure kind when the message names no class. */
export function errorClassOf(f: Pick<Failure, 'kind' | 'message'>): string {
  const m = /\b([A-Z][A-Za-z0-9]*(?:Error|Exception|Exit|Failure))\b/.exec(f.message);
  if (m?.[1]) return m[1];
  if (f.kind === 'tests' && /\bassert\b/.test(f.message)) return 'AssertionError';
  return f.kind;
}

// ---- the RETROSPECTIVE section ----

/** The questions of an instruction's RETROSPECTIVE section, one per list item or line. */
export function retrospectiveQuestions(section: string | undefined): string[] {
  if (!section) return [];
  return section
    .split(/\r?\n/)
    .map((l) => l.replace(/^\s*(?:[-*+]|\d+[.)])\s+/, '').trim())
    .filter((l) => l.length > 0 && !/^#/.test(l));
}

/**
 * Answers the questions the data answers: what was hard or failed (the failures), what took
 * time (the duration), what it cost. Others are marked as not answered by the data: a made-up
 * answer would teach the wrong thing.
 */
export function answerQuestions(questions: string[], r: Retrospective): Array<{ question: string; answer: string }> {
  const failures = r.failures ?? [];
  return questions.map((question) => {
    const q = question.toLowerCase();
    let answer = 'not answered by the data';
    if (/hard|difficult|fail|false positive|problem|issue|wrong|tricky|pin down|error|test/.test(q)) {
      answer =
        failures.length > 0
          ? failures.map((f) => `attempt ${f.attempt} ${f.kind}: ${oneLine(f.message, 160)}`).join('; ')
          : r.outcome === 'passed'
            ? `nothing failed: passed on the first try (${r.tests?.passed ?? 0} tests)`
            : answer;
    } else if (/slow|time|long|performance|fast/.test(q) && r.durationMs !== undefined) {
      answer = `${Math.round(r.durationMs / 100) / 10} s over ${r.attempts} generation${r.attempts === 1 ? '' : 's'}`;
    } else if (/cost|token|price|spend/.test(q) && r.costUsd !== undefined) {
      answer = `$${r.costUsd.toFixed(4)}, ${(r.tokens?.prompt ?? 0) + (r.tokens?.completion ?? 0)} tokens`;
    }
    return { question: oneLine(question, 200), answer: scrubSecrets(answer) };
  });
}

// ---- building a lesson ----

/** The directories of files (no node:path: this module is plain code, usable anywhere). */
export function packagesOf(files: string[]): string[] {
  return [
    ...new Set(
      files.map((f) => f.replace(/\\/g, '/').replace(/\/[^/]*$|^[^/]*$/, '')).filter((d) => d !== '.' && d !== ''),
    ),
  ];
}

/**
 * The failures of a retrospective: the instruction workflow's attempt log when it has one, else
 * (a result recorded without it) the final error with the failing assertions of the last test log.
 */
export function failuresOf(r: Retrospective, lastTestOutput: string | null): Failure[] {
  if (r.failures && r.failures.length > 0) return r.failures.map((f) => wholeMessage(f, r, lastTestOutput));
  if (r.outcome === 'passed' || r.outcome === 'skipped') return [];
  const kind: Failure['kind'] =
    r.outcome === 'guide' ? 'guide' : r.outcome === 'llm_timeout' || r.outcome === 'error' ? 'llm' : 'tests';
  const asserts = kind === 'tests' && lastTestOutput ? failingAssertions(lastTestOutput) : [];
  const message = asserts.length > 0 ? asserts.join(' | ') : (r.error ?? r.outcome);
  return [{ attempt: Math.max(1, r.attempts), kind, message }];
}

/**
 * pytest cuts its summary lines to the terminal width ("AssertionError: the convention is…" + "...").
 * A logged failure of the last test run that was cut gets the whole assertion from that run's log.
 */
function wholeMessage(f: Failure, r: Retrospective, lastTestOutput: string | null): Failure {
  if (f.kind !== 'tests' || f.attempt !== r.attempts || !lastTestOutput || !/(?:\.\.\.|…)$/.test(f.message.trim()))
    return f;
  const asserts = failingAssertions(lastTestOutput);
  return asserts.length > 0 ? { ...f, message: asserts.join(' | ') } : f;
}

/** How a lesson sentence tells each kind of failed attempt. */
const ATTEMPT_FAILED: Record<Failure['kind'], string> = {
  tests: 'failed its tests',
  guide: 'was a guide',
  criteria: 'missed a criterion',
  llm: 'got no answer',
};

/** The sentence later workers read. Null when there is nothing to learn (passed on the first try, or never ran). */
export function lessonSentence(r: Retrospective, failures: Failure[]): string | null {
  if (failures.length === 0) return null;
  const where = r.files.length > 0 ? ` (${r.files.slice(0, 2).join(', ')}${r.files.length > 2 ? ', …' : ''})` : '';
  const what = failures
    .slice(0, 3)
    .map((f) => `attempt ${f.attempt} ${ATTEMPT_FAILED[f.kind]}: ${oneLine(f.message, 220)}`);
  const end =
    r.outcome === 'passed'
      ? `Fixed by: ${r.changes ? oneLine(r.changes, 120) : 'a regeneration with that failure in the prompt'}.`
      : `It ended ${r.outcome}.`;
  return oneLine(scrubSecrets(`${r.workerId}${where} ${what.join('; ')}. ${end}`), LESSON_MAX_CHARS);
}

export function lessonRecord(
  r: Retrospective,
  extra: { dependencies: string[]; failures: Failure[]; lesson: string | null; storedAt: string },
): LessonRecord | null {
  if (!extra.lesson) return null;
  return {
    workerId: r.workerId,
    batchId: r.batchId,
    outcome: r.outcome,
    files: r.files,
    packages: packagesOf(r.files),
    dependencies: extra.dependencies,
    errorClasses: [...new Set(extra.failures.map(errorClassOf))],
    lesson: extra.lesson,
    storedAt: extra.storedAt,
  };
}

// ---- choosing lessons for a worker ----

const GENERIC_CLASSES = new Set(['AssertionError', 'guide', 'criteria', 'tests', 'llm']);

/**
 * The lessons closest to the target, best first: its dependencies' (and its own from an
 * earlier batch), then the same file, the same package, then the same error class (an ImportError,
 * not a failed assertion) as a lesson already chosen or recurring across workers. One lesson per
 * author (the newest), no duplicates.
 */
export function chooseLessons(records: LessonRecord[], target: LessonTarget, max = LESSONS_MAX): ChosenLesson[] {
  const deps = new Set(target.dependencies);
  const files = new Set(target.deliverables);
  const pkgs = new Set(packagesOf(target.deliverables));
  // The newest lesson of each author.
  const newest = new Map<string, LessonRecord>();
  for (const r of records) {
    const prev = newest.get(r.workerId);
    if (!prev || (r.storedAt ?? '') >= (prev.storedAt ?? '')) newest.set(r.workerId, r);
  }
  const classAuthors = new Map<string, Set<string>>();
  for (const r of newest.values())
    for (const c of r.errorClasses) (classAuthors.get(c) ?? classAuthors.set(c, new Set()).get(c)!).add(r.workerId);

  const scored: Array<{ record: LessonRecord; score: number; why: string }> = [];
  for (const r of newest.values()) {
    const sameFile = r.files.find((f) => files.has(f));
    const samePkg = r.packages.find((p) => pkgs.has(p));
    if (r.workerId === target.workerId)
      scored.push({ record: r, score: 5, why: 'this instruction, in an earlier run' });
    else if (deps.has(r.workerId)) scored.push({ record: r, score: 4, why: `your dependency ${r.workerId}` });
    else if (sameFile) scored.push({ record: r, score: 3, why: `wrote the same file ${sameFile}` });
    else if (samePkg) scored.push({ record: r, score: 2, why: `same package ${samePkg}` });
    else scored.push({ record: r, score: 0, why: '' });
  }
  const close = scored.filter((s) => s.score > 0);
  const closeClasses = new Set(close.flatMap((s) => s.record.errorClasses));
  for (const s of scored.filter((x) => x.score === 0)) {
    // A class that says something beyond one module (an import that fails, a name that is wrong), shared with
    // a close lesson or recurring across workers; a failed assertion or a guide elsewhere says little here.
    const shared = s.record.errorClasses.find(
      (c) => !GENERIC_CLASSES.has(c) && (closeClasses.has(c) || (classAuthors.get(c)?.size ?? 0) >= 2),
    );
    if (shared) {
      s.score = 1;
      const authors = classAuthors.get(shared)?.size ?? 1;
      s.why = `same error class ${shared} (${authors} worker${authors === 1 ? '' : 's'})`;
    }
  }
  const seen = new Set<string>();
  return scored
    .filter((s) => s.score > 0)
    .sort(
      (a, b) =>
        b.score - a.score ||
        ((b.record.storedAt ?? '') < (a.record.storedAt ?? '')
          ? -1
          : (b.record.storedAt ?? '') > (a.record.storedAt ?? '')
            ? 1
            : 0),
    )
    .filter((s) => {
      const key = s.record.lesson.replace(/^WORKER_\d+\s*/, '');
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, max)
    .map(({ record, why }) => ({ record, why }));
}

/** The prompt's section, under `maxChars` in all; empty when there is nothing to say. */
export function lessonsSection(chosen: ChosenLesson[], maxChars = LESSONS_MAX_CHARS): string[] {
  if (chosen.length === 0) return [];
  const head = [
    '# Lessons from earlier workers',
    '',
    'What went wrong for workers close to this one, and what fixed it. Avoid the same mistakes:',
    '',
  ];
  const out = [...head];
  let size = head.join('\n').length;
  for (const c of chosen) {
    const line = `- (${c.why}) ${oneLine(scrubSecrets(c.record.lesson), LESSON_MAX_CHARS)}`;
    if (size + line.length + 1 > maxChars) break;
    out.push(line);
    size += line.length + 1;
  }
  return out.length > head.length ? out : [];
}

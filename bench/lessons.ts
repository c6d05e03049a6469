// The lessons workload (`npm run bench -- --lessons`): packages whose modules must follow a
// convention only a failing test reveals. In each package an early worker never gets it right
// (it fails, with the convention in its assertion message); the worker after it writes the same
// file, and the rest of the package depends on that one. The stand-in LLM answers a worker right
// the first time only when its prompt carries the package's marker: from a lesson, or from the
// test output of a regeneration. Run with and without lessons, the difference in regenerations is
// what the lessons save.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { instructionText } from '../test/support/instructions.js';
import type { BenchWorker } from './workload.js';

export interface LessonWorker extends BenchWorker {
  pkg: string;
  /** The early worker whose failure teaches: always answered wrong. */
  teacher: boolean;
  /** The module's import path from the Python root, and its test file. */
  module: string;
  testFile: string;
}

const conventionOf = (pkg: string) => `${pkg}-v2`;
export const markerOf = (pkg: string) => `LESSON_${pkg.toUpperCase()}`;

/** `packages` packages of 2 + `learners` workers each. */
export function lessonsWorkload(o: { packages: number; learners: number }): LessonWorker[] {
  const out: LessonWorker[] = [];
  const width = 3;
  const add = (w: Omit<LessonWorker, 'id' | 'latencyMs' | 'test' | 'tier' | 'testFile'>) => {
    const id = `WORKER_${String(out.length + 1).padStart(width, '0')}`;
    const testFile = `tests/test_${id.toLowerCase()}.py`;
    out.push({ ...w, id, testFile, test: `pytest ${testFile}`, latencyMs: 0, tier: 'implementation' });
    return id;
  };
  for (let p = 0; p < o.packages; p++) {
    const pkg = `pkg${p + 1}`;
    const core = `wingman/${pkg}/core.py`;
    add({ pkg, teacher: true, file: core, module: `${pkg}.core`, dependsOn: [] });
    // Same file as the teacher: runs after it (whatever its outcome), learns from it.
    const first = add({ pkg, teacher: false, file: core, module: `${pkg}.core`, dependsOn: [] });
    for (let i = 1; i <= o.learners; i++) {
      add({ pkg, teacher: false, file: `wingman/${pkg}/mod_${i}.py`, module: `${pkg}.mod_${i}`, dependsOn: [first] });
    }
  }
  return out;
}

/** The instructions, and the test each worker's code must pass (written into the workspace beforehand). */
export function writeLessonsWorkload(workersDir: string, workspace: string, workers: LessonWorker[]): void {
  mkdirSync(workersDir, { recursive: true });
  for (const w of workers) {
    const spec = {
      id: w.id,
      name: `${w.pkg} ${w.teacher ? 'early' : 'later'} ${w.file}`,
      files: [w.file],
      dependsOn: w.dependsOn,
      test: w.test,
      llm: 'openai' as const,
    };
    writeFileSync(path.join(workersDir, `${w.id}.md`), instructionText(spec));
    const test = path.join(workspace, 'wingman', w.testFile);
    mkdirSync(path.dirname(test), { recursive: true });
    writeFileSync(
      test,
      `from ${w.module} import CONVENTION\n\n\ndef test_convention() -> None:\n` +
        `    assert CONVENTION == "${conventionOf(w.pkg)}", ` +
        `"${markerOf(w.pkg)}: every module of ${w.pkg} sets CONVENTION = '${conventionOf(w.pkg)}'"\n`,
    );
  }
}

/** The stand-in's answer: right only when the prompt carries the package's marker (never for a teacher). */
export function lessonsAnswer(w: LessonWorker, prompt: string): string {
  const right = !w.teacher && prompt.includes(markerOf(w.pkg));
  return `"""${w.id}."""\n\nCONVENTION = "${right ? conventionOf(w.pkg) : 'unknown'}"\n`;
}

// Builds the prompt of one generation. What makes the code right the first time is here: the
// exact path of every file, the import path other code will use for it (computed from the Python
// root, never guessed), the current content of files being updated, the public names of the
// files this worker depends on, a strict output contract, and on a retry what went wrong.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { sha256, type ArtifactStore } from './artifacts.js';
import type { Config } from '../config.js';
import { parseInstruction } from '../instructions/parse.js';
import { resolveInside } from '../instructions/paths.js';
import { outline, publicNames, realPython } from './process/python.js';
import { PromptRequest, type Feedback, type PromptRef } from '../schemas.js';
import { tail } from './tests.js';
import { lessonsSection } from './lessons.js';
import { findLessons } from './memory.js';

/** How much failing test output a retry prompt carries (its tail: that is where pytest summarises). */
export const TEST_OUTPUT_TAIL_BYTES = 8 * 1024;
/** A current file larger than this is not pasted into the prompt. */
const MAX_CURRENT_BYTES = 200 * 1024;

const LANGUAGE: Record<string, string> = {
  '.py': 'python',
  '.sh': 'bash',
  '.bash': 'bash',
  '.js': 'javascript',
  '.mjs': 'javascript',
  '.ts': 'typescript',
  '.json': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.toml': 'toml',
  '.md': 'markdown',
  '.ini': 'ini',
  '.cfg': 'ini',
  '.sql': 'sql',
  '.html': 'html',
  '.css': 'css',
  '.txt': 'text',
};
export function languageFor(file: string): string {
  return LANGUAGE[path.extname(file).toLowerCase()] ?? 'text';
}

function clean(p: string): string {
  return path.posix
    .normalize(p.replace(/\\/g, '/'))
    .replace(/^\.\/?/, '')
    .replace(/\/+$/, '');
}

/**
 * The module path a Python file is imported by when `pythonRoot` is on sys.path:
 * `wingman/validation/semantic_analyzer.py` with root `wingman` -> `validation.semantic_analyzer`.
 * Null for a non-Python file, a file outside the root, or a path that is not a valid module name.
 */
export function importPathFor(file: string, pythonRoot: string): string | null {
  const f = clean(file);
  if (!f.endsWith('.py')) return null;
  const root = clean(pythonRoot);
  const rel = root === '' || root === '.' ? f : f.startsWith(`${root}/`) ? f.slice(root.length + 1) : null;
  if (rel === null) return null;
  const parts = rel.slice(0, -3).split('/');
  if (parts[parts.length - 1] === '__init__') parts.pop();
  if (parts.length === 0 || !parts.every((p) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) return null;
  return parts.join('.');
}

/** A fence longer than any backtick run inside, so pasted markdown or test output cannot close it. */
export function fenced(content: string, info: string): string {
  const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${content.endsWith('\n') ? content : `${content}\n`}${fence}`;
}

async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') return null;
    throw e;
  }
}

export async function preparePrompt(
  deps: { config: Config; store: ArtifactStore },
  input: PromptRequest,
): Promise<PromptRef> {
  const req = PromptRequest.parse(input);
  const bytes = await readFile(req.instructionFile);
  if (sha256(bytes) !== req.instructionSha256) {
    throw ApplicationFailure.nonRetryable(
      `${req.instructionFile} changed since the batch started ` +
        `(sha256 ${sha256(bytes).slice(0, 12)}, expected ${req.instructionSha256.slice(0, 12)})`,
      'InstructionChanged',
    );
  }
  const instruction = bytes.toString('utf8');
  // Kept by its sha256 (the manifest's), so the retrospective can answer its RETROSPECTIVE questions.
  if (req.feedback === null) await deps.store.put(instruction);
  let name = req.workerId;
  let dependencies: string[] = [];
  try {
    ({ name, dependencies } = parseInstruction(bytes, req.instructionFile));
  } catch {
    // The manifest already validated this file; its name and dependencies are all we want here.
  }
  const root = clean(req.pythonRoot);
  const rootLabel = root === '' || root === '.' ? '.' : root;

  const current: Array<{ file: string; text: string | null; tooLarge?: number }> = [];
  for (const file of req.deliverables) {
    const buf = await readIfExists(resolveInside(req.workspace, file));
    current.push(
      buf === null
        ? { file, text: null }
        : buf.length > MAX_CURRENT_BYTES
          ? { file, text: null, tooLarge: buf.length }
          : { file, text: buf.toString('utf8') },
    );
  }

  // Dependencies: files this worker's dependencies wrote. Python modules that exist show their names.
  const depFiles: Array<{ file: string; abs: string; exists: boolean; names: boolean }> = [];
  for (const file of req.dependencyFiles.filter((f) => !req.deliverables.includes(f))) {
    const abs = resolveInside(req.workspace, file);
    const exists = (await readIfExists(abs)) !== null;
    depFiles.push({ file, abs, exists, names: exists && file.endsWith('.py') && !isTestPath(file) });
  }
  const withNames = depFiles.filter((d) => d.names);
  const names =
    withNames.length > 0
      ? await publicNames(
          withNames.map((d) => d.abs),
          await realPython(deps.config.WINGMAN_PYTHON),
        )
      : {};

  const out: string[] = [];
  if (req.feedback?.kind === 'guide') out.push(guidePreamble(req.feedback), '');
  out.push(
    `You are ${req.workerId}: ${name.replace(/^WORKER_\d+:\s*/, '')}.`,
    'You write the files of this instruction yourself, complete and working. ' +
      'A program saves each file you output to the exact path given, then runs the tests.',
    '',
    '# Instruction',
    '',
    fenced(instruction, 'markdown'),
    '',
    '# Files to write',
    '',
    `Paths are relative to the workspace root. The Python root is \`${rootLabel}/\`: ` +
      'tests run from there, with it on sys.path, so modules are imported by the paths below.',
    '',
  );
  for (const c of current) {
    const mod = importPathFor(c.file, root);
    const state =
      c.text !== null
        ? 'exists: its current content is below; output the whole updated file'
        : c.tooLarge
          ? `exists (${c.tooLarge} bytes, too large to show): output the whole file`
          : 'new file';
    const how = !mod
      ? ''
      : isTestPath(c.file)
        ? ` — test module \`${mod}\`, run by pytest from \`${rootLabel}/\``
        : ` — other code imports it as \`from ${mod} import ...\``;
    out.push(`- \`${c.file}\`${how} (${state})`);
  }
  for (const c of current.filter((x) => x.text !== null)) {
    out.push('', `## Current content of ${c.file}`, '', fenced(c.text ?? '', languageFor(c.file)));
  }

  if (depFiles.length > 0) {
    out.push('', '# Code you can use (written by the workers this one depends on)', '');
    for (const d of depFiles) {
      const mod = importPathFor(d.file, root);
      const info = d.names ? names[d.abs] : undefined;
      if (!info) {
        const what = !d.exists ? 'not present yet' : isTestPath(d.file) ? 'tests' : 'exists';
        out.push(`- \`${d.file}\`${mod && !isTestPath(d.file) ? ` (module \`${mod}\`)` : ''}: ${what}`);
        continue;
      }
      const all = [
        ...info.classes.map((c) => c.name),
        ...info.functions.map((f) => f.replace(/^(?:async )?def (\w+).*$/s, '$1')),
      ];
      const usage =
        mod && all.length > 0 ? ` — \`from ${mod} import ${all.join(', ')}\`` : mod ? ` (module \`${mod}\`)` : '';
      out.push(`## \`${d.file}\`${usage}`);
      out.push(
        info.error
          ? `(could not read its names: ${info.error})`
          : fenced(outline(info) || '# no public names', 'python'),
      );
      out.push('');
    }
  }

  // The first prompt learns from earlier workers; a regeneration has its own failure to fix.
  if (req.feedback === null && deps.config.WINGMAN_LESSONS !== 'off') {
    const lessons = lessonsSection(
      await findLessons(deps, {
        workerId: req.workerId,
        instructionSha256: req.instructionSha256,
        dependencies,
        deliverables: req.deliverables,
      }),
    );
    if (lessons.length > 0) out.push('', ...lessons);
  }

  if (req.feedback?.kind === 'tests') out.push('', ...(await testsSection(deps.store, req.feedback)));
  if (req.feedback?.kind === 'criteria') out.push('', ...criteriaSection(req.feedback));

  out.push(
    '',
    ...contract(
      req.deliverables,
      withNames.map((d) => d.file),
      root,
    ),
  );
  const prompt = out.join('\n');
  const promptRef = await deps.store.putBlob(prompt);
  return { promptRef, chars: prompt.length };
}

function guidePreamble(f: Extract<Feedback, { kind: 'guide' }>): string {
  const quoted = f.markers.length > 0 ? f.markers.map((m) => `  - ${m}`).join('\n') : '  - (no usable code)';
  return [
    'IMPORTANT: your previous answer was a guide, not the code. It was rejected because of:',
    quoted,
    'Do not explain, do not describe steps, do not leave TODOs or placeholders. ' +
      'Write the code itself: every file, complete, in the format required at the end.',
  ].join('\n');
}

async function testsSection(store: ArtifactStore, f: Extract<Feedback, { kind: 'tests' }>): Promise<string[]> {
  let output: string;
  try {
    output = await store.readBlob(f.outputRef);
  } catch {
    output = f.summary; // the log is gone (another host's store): the summary is better than nothing
  }
  return [
    '# Your previous code failed its tests',
    '',
    'The files above hold the code you wrote last time. This is the end of the test output:',
    '',
    fenced(tail(output, TEST_OUTPUT_TAIL_BYTES), 'text'),
    '',
    'Fix the code so these tests pass. Keep what already works; output every file again, complete.',
  ];
}

function criteriaSection(f: Extract<Feedback, { kind: 'criteria' }>): string[] {
  return [
    '# Your previous code passed its tests but not its success criteria',
    '',
    'The files above hold the code you wrote last time. These criteria were not met:',
    '',
    fenced(f.unmet.map((u) => `- ${u}`).join('\n'), 'text'),
    '',
    'Fix the code so every criterion is met (an import named there must work exactly as written). ' +
      'Output every file again, complete.',
  ];
}

function contract(deliverables: string[], dependencies: string[], root: string): string[] {
  const rootLabel = root === '' || root === '.' ? '.' : root;
  const mods = [...deliverables.filter((d) => !isTestPath(d)), ...dependencies]
    .map((d) => importPathFor(d, root))
    .filter((m): m is string => !!m);
  const blocks = `${deliverables.length} fenced code block${deliverables.length > 1 ? 's' : ''}`;
  const modList = mods.length > 0 ? ` (${[...new Set(mods)].map((m) => `\`${m}\``).join(', ')})` : '';
  const notThroughRoot = rootLabel === '.' ? '' : ` and do not import through the \`${rootLabel}\` directory name`;
  return [
    '# Output format (strict)',
    '',
    `Answer with exactly ${blocks}, one per file, ` +
      'each opened with the line shown here and closed by a line of three backticks, and nothing else:',
    ...deliverables.map((d) => `    ${'```'}${languageFor(d)} path=${d}`),
    '- Complete code only, from the first line to the last: no prose, no explanations, no steps.',
    '- No TODO or FIXME, no placeholders (`pass`, `...`, `raise NotImplementedError`, "your code here"), ' +
      'no "rest unchanged" elisions.',
    `- Tests import modules by their import paths${modList} and run from the Python root \`${rootLabel}/\`, ` +
      `which is on sys.path: do not change sys.path in tests${notThroughRoot}.`,
    '- Standard library only unless the instruction says otherwise; no network access in tests.',
  ];
}

function isTestPath(file: string): boolean {
  return /(?:^|\/)(?:test_[^/]*|[^/]*_test)\.py$/.test(file);
}

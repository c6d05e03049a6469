// Turns a folder of instructions into the batch manifest, or refuses the whole folder.
// Everything is checked before anything starts, and every problem is reported at once, so a
// person fixes the folder in one pass instead of one failed batch per mistake.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PathError, resolveInside } from './paths.js';
import type { ManifestEntry, Provider } from '../schemas.js';
import { checkTestCommand, CommandError, DEFAULT_RUNNERS, pathArguments } from './commands.js';
import { InstructionError, parseInstruction } from './parse.js';
import type { Instruction } from './schema.js';
import { compareIds, compareText as byName, dependencyOrder } from './ordering.js';

export interface Problem {
  /** The instruction's file name (or the folder, for problems of the folder itself). */
  file: string;
  problem: string;
}

export class InputError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.file}: ${p.problem}`).join('\n'));
    this.name = 'InputError';
  }
}

export interface ManifestOptions {
  workersDir: string;
  /** Workspace root: every deliverable and every path a test command names stays inside it. */
  workspace: string;
  /** Relative to the workspace; test commands run there. */
  pythonRoot: string;
  /** Keep only these worker ids. */
  only?: string[];
  defaultProvider?: Provider;
  allowedRunners?: string[][];
}

/** A dependency left out of an entry because its worker exists but was not selected with `only`. */
export interface DroppedDependency {
  id: string;
  dependency: string;
}

export interface Manifest {
  entries: ManifestEntry[];
  dropped: DroppedDependency[];
}

/** The manifest in id order (topologicalOrder gives dependency order); throws InputError listing every problem. */
export async function buildManifest(opts: ManifestOptions): Promise<ManifestEntry[]> {
  return (await loadManifest(opts)).entries;
}

/** Like buildManifest, and also says which dependencies `only` dropped (assumed done by an earlier batch). */
export async function loadManifest(opts: ManifestOptions): Promise<Manifest> {
  const dirLabel = opts.workersDir;
  const files = await instructionFiles(opts.workersDir);
  const problems: Problem[] = [];
  const runners = opts.allowedRunners ?? DEFAULT_RUNNERS;

  let cwd: string | null = null;
  try {
    cwd = resolveInside(opts.workspace, opts.pythonRoot.trim() === '' ? '.' : opts.pythonRoot);
  } catch (e) {
    problems.push({ file: dirLabel, problem: `python root ${(e as Error).message}` });
  }

  const parsed: Array<{ base: string; entry: ManifestEntry; instruction: Instruction }> = [];
  // Ids of files that did not parse, taken from their names: a dependency on one of them is not also "unknown".
  const unparsedIds = new Set<string>();
  for (const file of files) {
    const base = path.basename(file);
    const bytes = await readFile(file).catch((e: Error) => e);
    if (bytes instanceof Error) {
      problems.push({ file: base, problem: `cannot read the file: ${bytes.message}` });
      continue;
    }
    let instruction: Instruction;
    try {
      instruction = parseInstruction(bytes, file);
    } catch (e) {
      if (!(e instanceof InstructionError)) throw e;
      problems.push({ file: base, problem: e.problem });
      const id = /WORKER_\d+/i.exec(base)?.[0].toUpperCase();
      if (id) unparsedIds.add(id);
      continue;
    }
    const fileProblems: string[] = [];
    const deliverables = checkDeliverables(instruction.deliverables, opts.workspace, fileProblems);
    const testCommands = checkCommands(
      instruction.testCommands,
      runners,
      opts.workspace,
      cwd,
      opts.pythonRoot,
      fileProblems,
    );
    problems.push(...fileProblems.map((problem) => ({ file: base, problem })));
    parsed.push({
      base,
      instruction,
      entry: {
        id: instruction.id,
        name: instruction.name,
        file: path.resolve(file),
        sha256: createHash('sha256').update(bytes).digest('hex'),
        replay: null,
        deliverables,
        dependencies: instruction.dependencies,
        provider: instruction.provider ?? opts.defaultProvider ?? 'openai',
        testCommands,
        // Filled by the planner once the providers are known (cli/plan.ts).
        generationEstimateUsd: 0,
      },
    });
  }
  parsed.sort((a, b) => compareIds(a.entry.id, b.entry.id) || byName(a.base, b.base));

  // Duplicate ids: the first file (by name) keeps the id, each other one is a problem.
  const byId = new Map<string, { base: string; entry: ManifestEntry }>();
  for (const p of parsed) {
    const first = byId.get(p.entry.id);
    if (first) problems.push({ file: p.base, problem: `duplicate id ${p.entry.id} (also the id of ${first.base})` });
    else byId.set(p.entry.id, p);
  }

  for (const { base, entry } of byId.values()) {
    for (const dep of entry.dependencies) {
      if (byId.has(dep) || unparsedIds.has(dep)) continue;
      const digits = Number(dep.slice('WORKER_'.length));
      const near = [...byId.keys()].find((id) => Number(id.slice('WORKER_'.length)) === digits);
      const hint = near ? `; did you mean ${near}?` : '';
      problems.push({
        file: base,
        problem: `unknown dependency ${dep} (no instruction in ${dirLabel} has that id${hint})`,
      });
    }
  }

  const entries = [...byId.values()].map((p) => p.entry);
  for (const cycle of findCycles(entries)) {
    problems.push({ file: byId.get(cycle[0]!)!.base, problem: `dependency cycle: ${cycle.join(' -> ')}` });
  }

  let selected = entries;
  const dropped: DroppedDependency[] = [];
  if (opts.only) {
    const wanted = new Set<string>();
    for (const raw of opts.only) {
      const id = raw.trim().toUpperCase();
      if (!byId.has(id))
        problems.push({ file: dirLabel, problem: `selected worker ${raw.trim()} is not in the folder` });
      wanted.add(id);
    }
    selected = entries
      .filter((e) => wanted.has(e.id))
      .map((e) => {
        const kept = e.dependencies.filter((d) => wanted.has(d));
        for (const d of e.dependencies) if (!wanted.has(d)) dropped.push({ id: e.id, dependency: d });
        return { ...e, dependencies: kept };
      });
  }

  if (problems.length > 0) {
    // Grouped by file, in folder order; problems of the folder itself first.
    const rank = new Map(files.map((f, i) => [path.basename(f), i]));
    throw new InputError(
      problems
        .map((p, i) => ({ p, i }))
        .sort((a, b) => (rank.get(a.p.file) ?? -1) - (rank.get(b.p.file) ?? -1) || a.i - b.i)
        .map(({ p }) => p),
    );
  }
  return { entries: selected, dropped };
}

/** The `WORKER_*.md` files of the folder, sorted by the id number in their names. */
async function instructionFiles(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => null);
  if (!info) throw new InputError([{ file: dir, problem: 'instructions folder not found' }]);
  if (!info.isDirectory()) throw new InputError([{ file: dir, problem: 'not a folder' }]);
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => /^WORKER_.*\.md$/i.test(d.name) && (d.isFile() || d.isSymbolicLink()))
    .map((d) => d.name);
  if (names.length === 0) throw new InputError([{ file: dir, problem: 'no WORKER_*.md files in the folder' }]);
  const num = (n: string) => /WORKER_(\d+)/i.exec(n)?.[0].toUpperCase() ?? 'WORKER_';
  return names.sort((a, b) => compareIds(num(a), num(b)) || byName(a, b)).map((n) => path.join(dir, n));
}

/** Resolves every deliverable inside the workspace and returns them as normalized relative paths. */
function checkDeliverables(paths: string[], workspace: string, problems: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (p.includes('\\')) {
      problems.push(`deliverable path uses backslashes (write it with /): ${p}`);
      continue;
    }
    try {
      const rel = path.relative(path.resolve(workspace), resolveInside(workspace, p)).split(path.sep).join('/');
      if (rel === '') problems.push(`deliverable path is the workspace itself: ${p}`);
      else if (!out.includes(rel)) out.push(rel);
    } catch (e) {
      if (!(e instanceof PathError)) throw e;
      problems.push(
        e.message.startsWith('path ') ? `deliverable ${e.message}` : `deliverable path refused: ${e.message}`,
      );
    }
  }
  return out;
}

function checkCommands(
  lines: string[],
  runners: string[][],
  workspace: string,
  cwd: string | null,
  pythonRoot: string,
  problems: string[],
): string[][] {
  const out: string[][] = [];
  for (const line of lines) {
    let argv: string[];
    try {
      argv = checkTestCommand(line, runners);
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      problems.push(`test command refused: ${e.message}: \`${line}\``);
      continue;
    }
    // Commands run in the Python root, so their paths are relative to it, not to the workspace.
    let ok = true;
    const root = path.resolve(workspace);
    for (const arg of cwd === null ? [] : pathArguments(argv)) {
      const rel = path.isAbsolute(arg) ? arg : path.relative(root, path.resolve(cwd ?? root, arg)) || '.';
      try {
        resolveInside(workspace, rel);
      } catch (e) {
        if (!(e instanceof PathError)) throw e;
        const how = path.isAbsolute(arg)
          ? 'names an absolute path'
          : e.message.includes('symlink')
            ? 'path leaves the workspace through a symlink'
            : 'path leaves the workspace';
        problems.push(
          `test command ${how} (commands run in ${pythonRoot.replace(/[\\/]+$/, '') || '.'}/): ${arg} in \`${line}\``,
        );
        ok = false;
      }
    }
    if (ok) out.push(argv);
  }
  return out;
}

/**
 * Dependencies before dependents; otherwise in id order. Dependencies on ids not among the
 * entries are ignored (dropped or done earlier). Throws InputError on a cycle.
 */
export function topologicalOrder<T extends Pick<ManifestEntry, 'id' | 'dependencies'>>(entries: T[]): T[] {
  const { order, blocked } = dependencyOrder(entries);
  if (blocked.length > 0) {
    throw new InputError(
      cyclesAmong(blocked).map((c) => ({ file: c[0]!, problem: `dependency cycle: ${c.join(' -> ')}` })),
    );
  }
  return order;
}

/** Each cycle as `[A, B, ..., A]`, starting at its lowest id; one per tangle of workers. */
export function findCycles(entries: Array<Pick<ManifestEntry, 'id' | 'dependencies'>>): string[][] {
  return cyclesAmong(dependencyOrder(entries).blocked);
}

// The workers left after a topological order wait on a cycle or are one. Every such worker waits
// on another one left, so following dependencies from it must come back to a worker already on the path.
function cyclesAmong(left: Array<Pick<ManifestEntry, 'id' | 'dependencies'>>): string[][] {
  const deps = new Map(left.map((e) => [e.id, e.dependencies]));
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const { id: start } of left) {
    if (seen.has(start)) continue;
    const pathIds: string[] = [];
    const onPath = new Map<string, number>();
    let cur = start;
    while (!seen.has(cur)) {
      seen.add(cur);
      onPath.set(cur, pathIds.length);
      pathIds.push(cur);
      cur = deps
        .get(cur)!
        .filter((d) => deps.has(d))
        .sort(compareIds)[0]!;
    }
    const at = onPath.get(cur);
    if (at === undefined) continue; // ran into a cycle found already
    const cycle = pathIds.slice(at);
    const lowest = cycle.reduce((m, id, i) => (compareIds(id, cycle[m]!) < 0 ? i : m), 0);
    const rotated = [...cycle.slice(lowest), ...cycle.slice(0, lowest)];
    cycles.push([...rotated, rotated[0]!]);
  }
  return cycles;
}

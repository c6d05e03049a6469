// The Python side of the workspace activities: the real interpreter (resolved once) and the
// reader (python-reader.py) that parses generated code without running it.
import { execa } from 'execa';
import { tmpdir } from 'node:os';
import { PythonReader } from './python-reader.js';
import { defaultHidden, runSandboxed } from './sandbox.js';

// Through a pyenv shim every spawn costs ~110 ms; the real interpreter ~46 ms.
const resolved = new Map<string, Promise<string>>();
const WHERE = 'import sys; print(sys.executable)';

/** The real path of the configured interpreter (`WINGMAN_PYTHON`), resolved once per name. */
export function realPython(configured: string): Promise<string> {
  let p = resolved.get(configured);
  if (!p) {
    p = execa(configured, ['-c', WHERE], { timeout: 30_000 }).then((r) => r.stdout.trim() || configured);
    // A failed lookup (python missing for a moment) must not be cached forever.
    p.catch(() => resolved.delete(configured));
    resolved.set(configured, p);
  }
  return p;
}

const dirs = new Map<string, Promise<string[]>>();
const LIB_DIRS = [
  'sys.prefix',
  'sys.base_prefix',
  'sys.exec_prefix',
  '*site.getsitepackages()',
  'site.getusersitepackages()',
];
const WHERE_LIBS = `import json, site, sys; print(json.dumps([${LIB_DIRS.join(', ')}]))`;

/** The directories an interpreter reads its standard library and packages from (the sandbox binds them back). */
export function pythonDirs(python: string): Promise<string[]> {
  let p = dirs.get(python);
  if (!p) {
    p = execa(python, ['-c', WHERE_LIBS], { timeout: 30_000 }).then((r) => [
      ...new Set(JSON.parse(r.stdout) as string[]),
    ]);
    p.catch(() => dirs.delete(python));
    dirs.set(python, p);
  }
  return p;
}

const readers = new Map<string, PythonReader>();

/** The reader for an interpreter, started on first use and kept for the life of the process. */
function reader(python: string): PythonReader {
  let r = readers.get(python);
  if (!r) {
    r = new PythonReader(python, helperEnv());
    readers.set(python, r);
  }
  return r;
}

/** Ends the readers (tests and shutdown); later calls start new ones. */
export function closePythonReaders(): void {
  for (const r of readers.values()) r.close();
}

export interface ClassInfo {
  name: string;
  /** `@dataclass(frozen=True)` and the like: they change how the class is built. */
  decorators: string[];
  bases: string[];
  /** Annotated class attributes (dataclass fields and the like), as `name: type`. */
  fields: string[];
  /** Public method signatures (`__init__` included), as `def name(args) -> ret`. */
  methods: string[];
}
export interface ModuleInfo {
  classes: ClassInfo[];
  functions: string[];
  /** Set when the file could not be read or parsed. */
  error?: string;
}

/** Public classes (with fields and method signatures) and functions of each file. */
export function publicNames(files: string[], python: string): Promise<Record<string, ModuleInfo>> {
  if (files.length === 0) return Promise.resolve({});
  return reader(python).call('names', files);
}

/** Renders ModuleInfo as a short Python-like outline for a prompt. */
export function outline(info: ModuleInfo): string {
  const lines: string[] = [];
  for (const c of info.classes) {
    lines.push(...c.decorators);
    lines.push(`class ${c.name}${c.bases.length ? `(${c.bases.join(', ')})` : ''}:`);
    for (const f of c.fields) lines.push(`    ${f}`);
    for (const m of c.methods) lines.push(`    ${m}`);
    if (c.fields.length + c.methods.length === 0) lines.push('    ...');
  }
  lines.push(...info.functions);
  return lines.join('\n');
}

export interface PySyntax {
  error: string | null;
  placeholders: string[];
}

/** Syntax errors and placeholder bodies of Python sources (name -> source). */
export function checkPython(sources: Record<string, string>, python: string): Promise<Record<string, PySyntax>> {
  const items = Object.entries(sources).map(([name, source]) => ({ name, source }));
  if (items.length === 0) return Promise.resolve({});
  return reader(python).call('check', items);
}

/** `bash -n` on a script given on stdin: null when it parses, else bash's first error line. */
export async function checkBash(source: string): Promise<string | null> {
  // From the launcher, like the tests (a fork from the worker itself is slow: launcher.ts), and isolated like them.
  const spec = { writable: [], readable: [], hidden: defaultHidden(), cwd: '/' };
  const r = await runSandboxed(
    ['bash', '-n'],
    { cwd: tmpdir(), env: helperEnv(), timeoutMs: 30_000, outputCap: 64 * 1024, input: source },
    spec,
  );
  if (r.spawnError) throw new Error(`cannot run bash -n: ${r.spawnError}`);
  if (r.timedOut) throw new Error('bash -n did not finish in 30 s');
  return r.exitCode === 0 ? null : bashError(r.output);
}

function bashError(stderr: string): string {
  return (stderr.split('\n').find((l) => l.trim() !== '') ?? 'syntax error').replace(/^bash: /, '');
}

// Helpers parse text only, but still get no secrets.
function helperEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: process.env.LANG ?? 'C.UTF-8' };
}

// The Python side of the workspace activities: the real interpreter (resolved once) and the
// small `ast` scripts that read generated code without running it.
import { execa, execaSync } from 'execa';

// Through a pyenv shim every spawn costs ~110 ms; the real interpreter ~46 ms, and with -I -S
// (isolated, no site) our own stdlib-only scripts start in ~20 ms.
const resolved = new Map<string, Promise<string>>();
const resolvedSync = new Map<string, string>();
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

/** Same as realPython, for the synchronous guide check. */
export function realPythonSync(configured: string): string {
  let p = resolvedSync.get(configured);
  if (!p) {
    p = execaSync(configured, ['-c', WHERE], { timeout: 30_000 }).stdout.trim() || configured;
    resolvedSync.set(configured, p);
  }
  return p;
}

/** Flags for our own helper scripts: isolated (no cwd or PYTHON* on sys.path) and no site. */
export const HELPER_FLAGS = ['-I', '-S'];

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

const PUBLIC_NAMES = String.raw`
import ast, json, sys

def sig(f):
    prefix = "async def " if isinstance(f, ast.AsyncFunctionDef) else "def "
    ret = " -> " + ast.unparse(f.returns) if f.returns else ""
    return prefix + f.name + "(" + ast.unparse(f.args) + ")" + ret

def public(name):
    return not name.startswith("_")

out = {}
for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            tree = ast.parse(fh.read(), path)
    except Exception as e:
        out[path] = {"classes": [], "functions": [], "error": type(e).__name__ + ": " + str(e)}
        continue
    classes, functions = [], []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and public(node.name):
            functions.append(sig(node))
        elif isinstance(node, ast.ClassDef) and public(node.name):
            fields, methods = [], []
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and public(item.target.id):
                    fields.append(item.target.id + ": " + ast.unparse(item.annotation))
                elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and (public(item.name) or item.name == "__init__"):
                    methods.append(sig(item))
            classes.append({"name": node.name, "decorators": ["@" + ast.unparse(d) for d in node.decorator_list], "bases": [ast.unparse(b) for b in node.bases], "fields": fields, "methods": methods})
    out[path] = {"classes": classes, "functions": functions}
print(json.dumps(out))
`;

/** Public classes (with fields and method signatures) and functions of each file, in one Python process. */
export async function publicNames(files: string[], python: string): Promise<Record<string, ModuleInfo>> {
  if (files.length === 0) return {};
  const { stdout } = await execa(python, [...HELPER_FLAGS, '-c', PUBLIC_NAMES, ...files], { timeout: 30_000, extendEnv: false, env: helperEnv() });
  return JSON.parse(stdout) as Record<string, ModuleInfo>;
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

// Syntax check and placeholder scan. compile() (not only ast.parse) also catches `return`
// outside a function and the like; nothing is executed. Placeholders are found on the AST so
// that abstract methods, overloads and Protocols, where `...` is the idiom, are not flagged.
const CHECK_SYNTAX = String.raw`
import ast, json, sys

ABSTRACT = {"abstractmethod", "overload", "abstractproperty"}

def deco_name(d):
    d = d.func if isinstance(d, ast.Call) else d
    return d.attr if isinstance(d, ast.Attribute) else getattr(d, "id", "")

def not_implemented(stmt):
    if not isinstance(stmt, ast.Raise) or stmt.exc is None:
        return False
    e = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
    return getattr(e, "id", "") == "NotImplementedError"

def placeholders(tree):
    found, passes, functions = [], [], 0
    protocols = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(ast.unparse(b).split(".")[-1].split("[")[0] in ("Protocol", "ABC") for b in node.bases):
            protocols.update(id(n) for n in node.body)
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if id(node) in protocols or any(deco_name(d) in ABSTRACT for d in node.decorator_list):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body = body[1:]
        if len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and body[0].value.value is Ellipsis:
            found.append("line %d: %s() body is only '...'" % (node.lineno, node.name))
        elif len(body) == 1 and isinstance(body[0], ast.Pass):
            passes.append("line %d: %s() body is only 'pass'" % (node.lineno, node.name))
        elif any(not_implemented(s) for s in body):  # a conditional raise for an unsupported case is fine
            found.append("line %d: %s() raises NotImplementedError" % (node.lineno, node.name))
        else:
            dots = [s for s in ast.walk(node) if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and s.value.value is Ellipsis]
            if dots:
                found.append("line %d: %s() has a '...' placeholder" % (dots[0].lineno, node.name))
        functions += 1
    # One no-op method is normal; a file of them is a skeleton.
    if passes and (len(passes) >= 2 or len(passes) == functions):
        found.extend(passes)
    return found

out = {}
for item in json.load(sys.stdin):
    try:
        tree = ast.parse(item["source"], item["name"])
        compile(item["source"], item["name"], "exec", dont_inherit=True)
        out[item["name"]] = {"error": None, "placeholders": placeholders(tree)}
    except SyntaxError as e:
        out[item["name"]] = {"error": "line %s: %s" % (e.lineno, e.msg), "placeholders": []}
    except Exception as e:
        out[item["name"]] = {"error": type(e).__name__ + ": " + str(e), "placeholders": []}
print(json.dumps(out))
`;

export interface PySyntax {
  error: string | null;
  placeholders: string[];
}

/** Checks Python sources (name -> source) in one process. */
export async function checkPython(sources: Record<string, string>, python: string): Promise<Record<string, PySyntax>> {
  const items = Object.entries(sources).map(([name, source]) => ({ name, source }));
  if (items.length === 0) return {};
  const { stdout } = await execa(python, [...HELPER_FLAGS, '-c', CHECK_SYNTAX], {
    input: JSON.stringify(items),
    timeout: 30_000,
    extendEnv: false,
    env: helperEnv(),
  });
  return JSON.parse(stdout) as Record<string, PySyntax>;
}

export function checkPythonSync(sources: Record<string, string>, python: string): Record<string, PySyntax> {
  const items = Object.entries(sources).map(([name, source]) => ({ name, source }));
  if (items.length === 0) return {};
  const { stdout } = execaSync(python, [...HELPER_FLAGS, '-c', CHECK_SYNTAX], {
    input: JSON.stringify(items),
    timeout: 30_000,
    extendEnv: false,
    env: helperEnv(),
  });
  return JSON.parse(stdout) as Record<string, PySyntax>;
}

/** `bash -n` on a script given on stdin: null when it parses, else bash's first error line. */
export async function checkBash(source: string): Promise<string | null> {
  const r = await execa('bash', ['-n'], { input: source, reject: false, timeout: 30_000, extendEnv: false, env: helperEnv() });
  return r.exitCode === 0 ? null : bashError(r.stderr);
}

export function checkBashSync(source: string): string | null {
  const r = execaSync('bash', ['-n'], { input: source, reject: false, timeout: 30_000, extendEnv: false, env: helperEnv() });
  return r.exitCode === 0 ? null : bashError(r.stderr);
}

function bashError(stderr: string): string {
  return (stderr.split('\n').find((l) => l.trim() !== '') ?? 'syntax error').replace(/^bash: /, '');
}

// Helpers parse text only, but still get no secrets.
function helperEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: process.env.LANG ?? 'C.UTF-8' };
}

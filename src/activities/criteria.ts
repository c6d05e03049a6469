// Checks the SUCCESS_CRITERIA that a machine can check: backticked imports (they must import),
// backticked allowed test commands (they must pass), test counts ("4 tests, all passing") and
// "tests import with `from a import B`" (the test file says so, and it imports). Anything else
// is 'unchecked', which is not a failure.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from './artifacts.js';
import type { Config } from '../config.js';
import { checkTestCommand, DEFAULT_RUNNERS, parseRunners, pathArguments } from '../instructions/commands.js';
import { InstructionError, parseInstructionFile } from '../instructions/parse.js';
import { resolveInside } from '../instructions/paths.js';
import { CriteriaRequest, type CriteriaCheck } from '../schemas.js';
import type { SandboxSpec } from './process/sandbox.js';
import { planCommand, prepareCodeRun, runScrubbed } from './tests.js';

type Result = CriteriaCheck['results'][number];
type Check =
  | { kind: 'import'; stmt: string; inTests: boolean }
  | { kind: 'command'; argv: string[] }
  | { kind: 'count'; n: number; atLeast: boolean; allPassing: boolean }
  | { kind: 'passing' }
  | { kind: 'unchecked'; why: string };

// A whole `from m import a, b as c` (names in parentheses or `*` too) or `import m.n as o, p`.
const NAME_AS = String.raw`[A-Za-z_]\w*(?:\s+as\s+\w+)?`;
const MODULE_AS = String.raw`[A-Za-z_][\w.]*(?:\s+as\s+\w+)?`;
const FROM_IMPORT = String.raw`from\s+[A-Za-z_][\w.]*\s+import\s+\(?\s*(?:\*|${NAME_AS}(?:\s*,\s*${NAME_AS})*)\s*\)?`;
const PLAIN_IMPORT = String.raw`import\s+${MODULE_AS}(?:\s*,\s*${MODULE_AS})*`;
const IMPORT = new RegExp(`^(?:${FROM_IMPORT}|${PLAIN_IMPORT})$`);

export function isTestFile(file: string): boolean {
  const base = path.basename(file);
  return /^test_.*\.py$/.test(base) || /_test\.py$/.test(base);
}

/** What kind of check a criterion calls for (pure: the tests pin it on the corpus). */
export function classify(criterion: string, runners: string[][] = DEFAULT_RUNNERS): Check {
  const spans = [...criterion.matchAll(/`([^`]+)`/g)].map((m) => (m[1] ?? '').trim());
  const prose = criterion.replace(/`[^`]*`/g, ' ');
  const stmt =
    spans.find((s) => IMPORT.test(s)) ??
    /\bfrom\s+[A-Za-z_][\w.]*\s+import\s+[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*/.exec(prose)?.[0];
  if (stmt) return { kind: 'import', stmt, inTests: /\b[Tt]ests?\b/.test(prose) || /^\s*imports?\b/i.test(prose) };
  for (const s of spans) {
    try {
      return { kind: 'command', argv: checkTestCommand(s, runners) };
    } catch {
      // not an allowed command: some other backticked thing
    }
  }
  // "4 tests", "at least 3 unit tests"; not "v2.3 to TEST" (a version, and TEST the environment).
  const count =
    /(?<![\w.])(at least\s+)?(\d+)\s+(?:(?:unit|integration|pytest|new|passing|separate|more)\s+)?(tests?)\b/i.exec(
      prose,
    );
  const passing = /\bpass(?:es|ing|ed)?\b/i.test(prose);
  if (count?.[2] && !/^TESTS?$/.test(count[3] ?? ''))
    return { kind: 'count', n: Number(count[2]), atLeast: !!count[1], allPassing: passing };
  if (passing && /\b[Tt]ests?\b/.test(prose)) return { kind: 'passing' };
  return { kind: 'unchecked', why: 'not machine-checkable' };
}

const MARK = '@@wingman-criteria@@';
// Imports run the generated code, so this runs like a test (sandboxed, scrubbed env, timeout, own group).
const IMPORT_CHECK = String.raw`
import ast, json, sys, traceback
checks = json.loads(sys.argv[1])

def wanted(stmt):
    node = ast.parse(stmt).body[0]
    if isinstance(node, ast.ImportFrom):
        return [(node.module, a.name) for a in node.names]
    return [(a.name, None) for a in node.names]

def declared(path):
    with open(path, encoding="utf-8", errors="replace") as fh:
        tree = ast.parse(fh.read(), path)
    have = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            have.update((node.module, a.name) for a in node.names)
        elif isinstance(node, ast.Import):
            have.update((a.name, None) for a in node.names)
    return have

out = []
for c in checks:
    missing = None
    for path in c["files"]:
        try:
            have = declared(path)
        except Exception as e:
            missing = "%s cannot be read: %s: %s" % (path, type(e).__name__, e)
            break
        if not all(w in have for w in wanted(c["stmt"])):
            missing = "%s does not contain %s" % (path, c["stmt"])
            break
    error = None
    try:
        exec(c["stmt"], {})
    except BaseException as e:
        error = (type(e).__name__ + ": " + str(e)).splitlines()[0]
    out.append({"missing": missing, "error": error})
sys.stdout.flush()
print("\n${MARK}", json.dumps(out))
`;

export async function checkCriteria(
  deps: { config: Config; store: ArtifactStore },
  input: CriteriaRequest,
): Promise<CriteriaCheck> {
  const req = CriteriaRequest.parse(input);
  let criteria: string[];
  try {
    criteria = (await parseInstructionFile(req.instructionFile)).successCriteria;
  } catch (e) {
    if (e instanceof InstructionError) throw ApplicationFailure.nonRetryable(e.message, 'InstructionInvalid');
    throw e;
  }
  const runners = deps.config.WINGMAN_ALLOWED_RUNNERS
    ? parseRunners(deps.config.WINGMAN_ALLOWED_RUNNERS)
    : DEFAULT_RUNNERS;
  const checks = criteria.map((c) => classify(c, runners));
  const { cwd: rootDir, python, scratch, env, spec } = await prepareCodeRun(deps.config, req, 'criteria');
  const run = { env, timeoutMs: deps.config.WINGMAN_TEST_TIMEOUT_MS, outputCap: deps.config.WINGMAN_TEST_OUTPUT_CAP };
  const testFiles = req.deliverables.filter(isTestFile).map((f) => resolveInside(req.workspace, f));

  try {
    const results: Result[] = criteria.map((criterion) => ({ criterion, status: 'unchecked', detail: '' }));
    const imports = checks.flatMap((c, i) =>
      c.kind === 'import' ? [{ i, stmt: c.stmt, files: c.inTests ? testFiles : [] }] : [],
    );
    if (imports.length > 0) {
      const r = await runScrubbed(
        [python, '-c', IMPORT_CHECK, JSON.stringify(imports.map(({ stmt, files }) => ({ stmt, files })))],
        { cwd: rootDir, ...run },
        spec,
      );
      const line = r.output.split('\n').find((l) => l.startsWith(MARK));
      const parsed = line
        ? (JSON.parse(line.slice(MARK.length)) as Array<{ missing: string | null; error: string | null }>)
        : null;
      imports.forEach(({ i, stmt }, k) => {
        const res = results[i]!;
        const p = parsed?.[k];
        if (!p) {
          res.status = 'unmet';
          res.detail = r.timedOut
            ? `importing timed out after ${run.timeoutMs} ms`
            : `import check failed: ${lastLine(r.output)}`;
        } else if (p.missing) {
          res.status = 'unmet';
          res.detail = p.missing;
        } else if (p.error) {
          res.status = 'unmet';
          res.detail = `${stmt} fails: ${p.error}`;
        } else {
          res.status = 'met';
          res.detail = `${stmt} imports${imports[k]?.files.length ? ' and the tests use it' : ''}`;
        }
      });
    }

    for (const [i, c] of checks.entries()) {
      const res = results[i]!;
      const { passed, failed } = req.tests;
      const total = passed + failed;
      if (c.kind === 'count') {
        const enough = c.atLeast ? total >= c.n : total === c.n;
        res.status = enough && (!c.allPassing || failed === 0) ? 'met' : 'unmet';
        const expected = `${c.atLeast ? 'at least ' : ''}${c.n} tests${c.allPassing ? ', all passing' : ''}`;
        res.detail = `expected ${expected}; ran ${total} (${passed} passed, ${failed} failed)`;
      } else if (c.kind === 'passing') {
        res.status = failed === 0 && passed > 0 ? 'met' : 'unmet';
        res.detail = `${passed} passed, ${failed} failed`;
      } else if (c.kind === 'unchecked') {
        res.detail = c.why;
      } else if (c.kind === 'command') {
        Object.assign(res, await runCriterionCommand(c.argv, req.workspace, python, scratch, i, run, spec));
      }
    }
    return { ok: results.every((r) => r.status !== 'unmet'), results };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A command in a criterion is relative to the workspace root (TEST_PROCESS ones to the Python root). */
async function runCriterionCommand(
  argv: string[],
  workspace: string,
  python: string,
  scratch: string,
  i: number,
  run: { env: Record<string, string>; timeoutMs: number; outputCap: number },
  spec: SandboxSpec,
): Promise<Pick<Result, 'status' | 'detail'>> {
  for (const p of pathArguments(argv)) {
    try {
      resolveInside(workspace, p);
    } catch (e) {
      return { status: 'unchecked', detail: `not run: ${(e as Error).message}` };
    }
  }
  const plan = planCommand(argv, python, path.join(scratch, `criterion-${i}.xml`));
  const r = await runScrubbed(
    plan.argv,
    { cwd: path.resolve(workspace), ...run },
    { ...spec, cwd: path.resolve(workspace) },
  );
  if (r.spawnError) return { status: 'unmet', detail: `cannot run ${argv.join(' ')}: ${r.spawnError}` };
  if (r.exitCode === 0) return { status: 'met', detail: `${argv.join(' ')} exited 0` };
  const why = r.timedOut
    ? `timed out after ${run.timeoutMs} ms`
    : r.capped
      ? 'output cap reached'
      : `exited ${r.exitCode}`;
  return { status: 'unmet', detail: `${argv.join(' ')} ${why}: ${lastLine(r.output)}` };
}

function lastLine(output: string): string {
  return (
    output
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop()
      ?.slice(0, 300) ?? '(no output)'
  );
}

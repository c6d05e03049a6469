// TEST_PROCESS commands come from untrusted instructions. They are split into argv and run
// without a shell, so shell syntax would not do what the author meant, and an instruction
// that uses it is either wrong or hostile: both are refused before the batch starts. So are
// runner options that write, delete or load files (`--basetemp=/` makes pytest delete `/`'s
// contents it can reach, `--log-file=`/`--junitxml=` overwrite other workers' files, `-p` loads a
// plugin, `-o`/`-c` rewrite the configuration): only the options a test run needs are accepted,
// and the paths they name are checked against the workspace by the manifest (pathArguments).

export class CommandError extends Error {
  constructor(readonly reasons: string[]) {
    super(reasons.join('; '));
    this.name = 'CommandError';
  }
}

/** Allowed runners, each an argv prefix. */
export const DEFAULT_RUNNERS: string[][] = [
  ['pytest'],
  ['python', '-m', 'pytest'],
  ['python3', '-m', 'pytest'],
  ['python', '-m', 'py_compile'],
  ['python3', '-m', 'py_compile'],
  ['bash', '-n'],
];

/** Splits a command line into argv the way a POSIX shell would, minus every expansion. */
export function splitCommand(line: string): string[] {
  const argv: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
      continue;
    }
    if (quote === '"') {
      const next = line[i + 1];
      if (c === '"') quote = null;
      else if (c === '\\' && next !== undefined && '"\\$`'.includes(next)) cur += line[++i];
      else cur += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      const next = line[i + 1];
      if (next === undefined) throw new CommandError(['command ends with a backslash']);
      cur += next;
      i++;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) argv.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '#' && !inWord) {
      break; // a comment, as in a shell
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new CommandError([`unterminated ${quote === '"' ? 'double' : 'single'} quote`]);
  if (inWord) argv.push(cur);
  return argv;
}

// Checked on the raw line, quotes included: a quoted `;` is harmless without a shell, but a
// line that needs that distinction is not a plain test command.
const SHELL_SYNTAX: Array<[RegExp, (m: string) => string]> = [
  [/[\r\n]/, () => 'a line break'],
  [/`/, () => 'backticks (command substitution)'],
  [/\$\(/, () => '`$(` (command substitution)'],
  [/\$\{/, () => '`${` (parameter expansion)'],
  [/\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9?@*#!$-]/, (m) => `\`${m}\` (variable expansion)`],
  [/&&/, () => '`&&`'],
  [/\|\|/, () => '`||`'],
  [/;/, () => '`;`'],
  [/\|/, () => '`|` (pipe)'],
  [/&/, () => '`&`'],
  [/>>/, () => '`>>` (redirection)'],
  [/>/, () => '`>` (redirection)'],
  [/</, () => '`<` (redirection)'],
  // eslint-disable-next-line no-control-regex
  [/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/, () => 'a control character'],
];

/** The shell constructs found in `line`, described for a person (empty when there are none). */
export function findShellSyntax(line: string): string[] {
  const found: string[] = [];
  let rest = line;
  for (const [re, describe] of SHELL_SYNTAX) {
    const m = re.exec(rest);
    if (!m) continue;
    found.push(describe(m[0]));
    // `&&` must not be reported again as `&`, nor `>>` as `>`.
    rest = rest.split(m[0]).join(' ');
  }
  return found;
}

export function formatRunners(runners: string[][]): string {
  return runners.map((r) => r.join(' ')).join(', ');
}

export function runnerOf(argv: string[], runners: string[][]): string[] | undefined {
  return runners.find((r) => r.length > 0 && argv.length >= r.length && r.every((t, i) => argv[i] === t));
}

type OptionKind = 'flag' | 'value' | 'plugin';

// pytest's long options a test run may use: flags, and options taking a value that names no file
// to write (the paths some take, like --ignore, are checked by the manifest like any argument).
const PYTEST_LONG: Record<string, OptionKind> = Object.fromEntries([
  ...[
    'exitfirst',
    'strict-config',
    'strict-markers',
    'strict',
    'runxfail',
    'no-header',
    'no-summary',
    'quiet',
    'verbose',
    'showlocals',
    'no-showlocals',
    'full-trace',
    'disable-warnings',
    'disable-pytest-warnings',
    'collect-only',
    'co',
    'pyargs',
    'noconftest',
    'keep-duplicates',
    'continue-on-collection-errors',
    'doctest-modules',
    'doctest-ignore-import-errors',
    'doctest-continue-on-failure',
    'setup-show',
    'setup-only',
    'setup-plan',
    'markers',
    'fixtures',
    'fixtures-per-test',
    'xfail-tb',
    'no-fold-skipped',
    'force-short-summary',
    'disable-plugin-autoload',
  ].map((o) => [o, 'flag']),
  ...[
    'maxfail',
    'durations',
    'durations-min',
    'verbosity',
    'report-chars',
    'tb',
    'show-capture',
    'capture',
    'color',
    'code-highlight',
    'pythonwarnings',
    'max-warnings',
    'ignore',
    'ignore-glob',
    'deselect',
    'rootdir',
    'import-mode',
    'doctest-report',
    'doctest-glob',
    'assert',
    'log-level',
    'log-format',
    'log-date-format',
    'log-cli-level',
    'log-cli-format',
    'log-cli-date-format',
    'log-auto-indent',
    'log-disable',
    'keyword',
    'markexpr',
  ].map((o) => [o, 'value']),
]);
const PYTEST_SHORT: Record<string, OptionKind> = {
  q: 'flag',
  v: 'flag',
  x: 'flag',
  s: 'flag',
  l: 'flag',
  k: 'value',
  m: 'value',
  W: 'value',
  r: 'value',
  p: 'plugin',
};

// Why the dangerous ones are refused, for the message (anything else unknown is refused too).
const PYTEST_REFUSED: Record<string, string> = {
  basetemp: 'pytest empties that directory',
  'log-file': 'writes a file',
  junitxml: 'writes a file (the orchestrator sets its own)',
  'junit-xml': 'writes a file (the orchestrator sets its own)',
  'result-log': 'writes a file',
  debug: 'writes a file',
  pastebin: 'sends the output to a web service',
  'override-ini': 'rewrites the configuration (cache_dir, log_file, addopts …)',
  'config-file': 'loads another configuration file',
  confcutdir: 'changes which conftest.py files load',
  'cache-dir': 'writes a cache directory',
  'cache-clear': 'deletes a cache directory',
  pdb: 'waits for a debugger',
  trace: 'waits for a debugger',
  pdbcls: 'loads a debugger class',
};
const SHORT_REFUSED: Record<string, string> = { o: PYTEST_REFUSED['override-ini']!, c: PYTEST_REFUSED['config-file']! };

function pytestOptionProblems(args: string[]): string[] {
  const problems: string[] = [];
  const refuse = (opt: string, why: string, inArg?: string) =>
    problems.push(`option \`${opt}\`${inArg ? ` (in \`${inArg}\`)` : ''} is not allowed in a test command: ${why}`);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break; // the rest are test paths
    if (arg.startsWith('@')) {
      refuse(arg, 'pytest reads more arguments from that file');
    } else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const kind = PYTEST_LONG[name];
      if (!kind) refuse(arg, PYTEST_REFUSED[name] ?? 'not an option test runs may use');
      else if (kind === 'flag' && eq >= 0) refuse(arg, 'takes no value');
      else if (kind === 'value' && eq < 0 && i++ >= args.length - 1) refuse(arg, 'needs a value');
    } else if (arg.startsWith('-') && arg.length > 1) {
      // A cluster of short options (`-xvs`), the last of which may take the rest or the next argument.
      for (let j = 1; j < arg.length; j++) {
        const ch = arg[j]!;
        const kind = PYTEST_SHORT[ch];
        const inArg = arg.length > 2 ? arg : undefined;
        if (!kind) {
          refuse(`-${ch}`, SHORT_REFUSED[ch] ?? 'not an option test runs may use', inArg);
          break;
        }
        if (kind === 'flag') continue;
        const value = j + 1 < arg.length ? arg.slice(j + 1) : args[++i];
        if (value === undefined) refuse(`-${ch}`, 'needs a value', inArg);
        else if (kind === 'plugin' && !value.startsWith('no:'))
          refuse(`-p ${value}`, 'loads a plugin (only `-p no:NAME`, which disables one, is allowed)');
        break;
      }
    }
  }
  return problems;
}

/**
 * Why the options of an allowed command are refused (empty when they are fine). pytest gets an
 * allow-list; `py_compile` and `bash -n` take files only (and `-q`). Runners configured beyond
 * those are checked for paths only.
 */
export function optionProblems(argv: string[], runner: string[]): string[] {
  const args = argv.slice(runner.length);
  const tool = runner[runner.length - 1];
  if (tool === 'pytest') return pytestOptionProblems(args);
  const filesOnly = tool === 'py_compile' ? ['-q'] : runner.join(' ') === 'bash -n' ? [] : null;
  if (!filesOnly) return [];
  return args
    .filter((a) => a.startsWith('-') && !filesOnly.includes(a))
    .map((a) => `option \`${a}\` is not allowed in a test command: ${runner.join(' ')} takes files only`);
}

/**
 * Returns the argv of a TEST_PROCESS line, or throws CommandError naming every reason it is
 * refused: shell syntax, programs that are not allowed runners, options they may not use.
 */
export function checkTestCommand(line: string, allowedRunners: string[][] = DEFAULT_RUNNERS): string[] {
  const reasons: string[] = [];
  const syntax = findShellSyntax(line);
  if (syntax.length > 0)
    reasons.push(`shell syntax is not allowed (commands run without a shell): ${syntax.join(', ')}`);
  // With shell syntax present, still name the programs each piece would have run (`curl`).
  const pieces = syntax.length > 0 ? line.split(/&&|\|\||[;|&\r\n]/) : [line];
  let argv: string[] = [];
  for (const [n, piece] of pieces.entries()) {
    let words: string[];
    try {
      words = splitCommand(piece);
    } catch (e) {
      if (syntax.length === 0) reasons.push((e as CommandError).message);
      continue;
    }
    if (n === 0) argv = words;
    if (words.length === 0) {
      if (syntax.length === 0) reasons.push('empty command');
      continue;
    }
    const runner = runnerOf(words, allowedRunners);
    if (!runner) {
      reasons.push(`\`${words[0]}\` is not an allowed test runner (allowed: ${formatRunners(allowedRunners)})`);
    } else if (syntax.length === 0) {
      reasons.push(...optionProblems(words, runner));
    }
  }
  if (reasons.length > 0) throw new CommandError(reasons);
  return argv;
}

/** Parses WINGMAN_ALLOWED_RUNNERS: "pytest,python -m pytest,bash -n". */
export function parseRunners(spec: string): string[][] {
  const runners: string[][] = [];
  for (const part of spec.split(',')) {
    const syntax = findShellSyntax(part);
    if (syntax.length > 0)
      throw new CommandError([`runner "${part.trim()}" contains shell syntax: ${syntax.join(', ')}`]);
    const argv = splitCommand(part);
    if (argv.length === 0) continue;
    if (!runners.some((r) => r.join('\0') === argv.join('\0'))) runners.push(argv);
  }
  if (runners.length === 0)
    throw new CommandError([`no runner in "${spec}" (expected e.g. "pytest,python -m pytest,bash -n")`]);
  return runners;
}

/**
 * The arguments of a command that name files, to be checked against the workspace: non-flag
 * arguments, values after `=` (`--basetemp=/x`, `-o cache_dir=/x`) and values glued to a short
 * flag (`-c/etc/x.ini`). pytest node ids lose their `::test` suffix.
 */
export function pathArguments(argv: string[]): string[] {
  const out: string[] = [];
  for (const arg of argv.slice(1)) {
    const candidates: string[] = [];
    if (!arg.startsWith('-')) candidates.push(arg);
    const eq = arg.indexOf('=');
    if (eq >= 0) candidates.push(arg.slice(eq + 1));
    else if (/^-[A-Za-z]./.test(arg)) candidates.push(arg.slice(2));
    for (const c of candidates) {
      const p = c.replace(/::.*$/, '');
      if (isPathish(p) && !out.includes(p)) out.push(p);
    }
  }
  return out;
}

// Only what could point somewhere else matters; a bare `test_x.py` is always inside.
function isPathish(s: string): boolean {
  return s.includes('/') || s.includes('\\') || s === '..' || s.startsWith('~');
}

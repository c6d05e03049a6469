// Before a batch pays for anything: every test runner its instructions use must start on this
// host. Without pytest, every worker would pay for a generation and end `error`.
import { execa } from 'execa';
import type { ManifestEntry } from '../schemas.js';

/** A runner as the test step will start it: the configured Python for pytest and `python -m`. */
function runnerOf(argv: string[], python: string): { name: string; check: string[] } {
  const [prog = '', ...rest] = argv;
  const isPython = prog === 'python' || prog === 'python3';
  if (prog === 'pytest' || (isPython && rest[0] === '-m' && rest[1] === 'pytest')) {
    return { name: 'pytest', check: [python, '-m', 'pytest', '--version'] };
  }
  if (isPython && rest[0] === '-m' && rest[1]) {
    return {
      name: `python -m ${rest[1]}`,
      check: [
        python,
        '-c',
        `import importlib.util, sys; sys.exit(0 if importlib.util.find_spec(${JSON.stringify(rest[1])}) else 1)`,
      ],
    };
  }
  if (isPython) return { name: 'python', check: [python, '-c', 'pass'] };
  return { name: prog, check: [prog, '--version'] };
}

/** Null when every runner starts, else one line naming the first missing one and the workers that need it. */
export async function checkRunners(entries: ManifestEntry[], python: string): Promise<string | null> {
  const users = new Map<string, { check: string[]; ids: string[] }>();
  for (const e of entries) {
    for (const argv of e.testCommands) {
      const r = runnerOf(argv, python);
      const u = users.get(r.name) ?? { check: r.check, ids: [] };
      if (!u.ids.includes(e.id)) u.ids.push(e.id);
      users.set(r.name, u);
    }
  }
  for (const [name, { check, ids }] of users) {
    const [cmd, ...args] = check as [string, ...string[]];
    const r = await execa(cmd, args, { reject: false, timeout: 60_000, stdin: 'ignore' });
    if (r.exitCode !== 0) {
      const said = (r.stderr || r.stdout).trim().split('\n').pop();
      const detail = said || (r.exitCode === undefined ? `${cmd} not found` : `exit ${r.exitCode}`);
      const who = ids.length > 3 ? `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more` : ids.join(', ');
      return (
        `test runner ${name} is not available (\`${check.join(' ')}\` failed: ${detail}); ` +
        `needed by ${who}. Nothing was started.`
      );
    }
  }
  return null;
}

// Runs the real CLI (`tsx src/starter.ts`) in a child process, as a user's shell would.
import { execa, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Environment for the CLI with nothing inherited that could reach a real provider. */
export function cliEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'TEMPORAL_CLI_PATH', 'PYENV_ROOT', 'PYENV_VERSION', 'WINGMAN_PYTHON'];
  const env: Record<string, string> = {};
  for (const k of keep) if (process.env[k]) env[k] = process.env[k]!;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

type Script = 'starter' | 'batch-control' | 'worker';

export function startCli(
  script: Script,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): ResultPromise {
  return execa(tsx, [path.join(repoRoot, 'src', `${script}.ts`), ...args], {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: false,
    reject: false,
    all: true,
  });
}

export async function runCli(
  script: Script,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
): Promise<CliResult> {
  const r = await startCli(script, args, opts);
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

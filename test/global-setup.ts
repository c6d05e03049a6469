// Jest's globalSetup: before any suite runs, check that what the tests drive is installed (the
// Temporal CLI, Python with pytest, Chromium, docker-compose, bubblewrap) and stop with one line naming
// `npm run setup` when something is missing, rather than letting every suite fail its own way. Then
// give the run an empty directory for its one workflow bundle (test/support/bundle.ts), removed when
// the run ends. (Jest loads this file with plain Node resolution: it imports nothing of the project.)
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The environment variable that names the run's bundle directory to the test workers. */
export const BUNDLE_DIR_VARIABLE = 'WINGMAN_TEST_BUNDLE_DIR';

export function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && executable(path.join(dir, name)));
}

function pythonHasPytest(python: string): boolean {
  try {
    execFileSync(python, ['-c', 'import pytest'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** What is missing, in words a person can act on (empty: all there). */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  const cli = process.env.TEMPORAL_CLI_PATH;
  if (cli ? !executable(cli) : !onPath('temporal'))
    missing.push(cli ? `the Temporal CLI at TEMPORAL_CLI_PATH (${cli})` : 'the Temporal CLI (`temporal`)');
  const python = process.env.WINGMAN_PYTHON ?? 'python3';
  if (!pythonHasPytest(python)) missing.push(`${python} with pytest`);
  if (!executable('/usr/bin/chromium')) missing.push('Chromium (/usr/bin/chromium)');
  if (!onPath('docker-compose')) missing.push('docker-compose');
  if (!onPath('bwrap')) missing.push('bubblewrap (`bwrap`)');
  return missing;
}

export default function globalSetup(): void {
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    process.stderr.write(
      `npm test needs ${missing.join(', ')}: run \`npm run setup\` (see README, "The two commands").\n`,
    );
    process.exit(1);
  }
  // Test workers are started after this, with this process's environment.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wingman-bundle-'));
  process.env[BUNDLE_DIR_VARIABLE] = dir;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
}

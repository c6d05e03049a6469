// npm test on a machine without what the suite drives stops at once with one line naming
// `npm run setup` (jest's globalSetup, test/global-setup.ts).
import { expect, test } from '@jest/globals';
import { execa } from 'execa';
import { mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../support/cli.js';

test('npm test without the Temporal CLI and pytest: one line naming npm run setup, exit 1, no suite run', async () => {
  // A PATH with node only: no temporal, no python3, no docker-compose, no bwrap.
  const bin = mkdtempSync(path.join(os.tmpdir(), 'wingman-bare-path-'));
  symlinkSync(process.execPath, path.join(bin, 'node'));
  const r = await execa(
    process.execPath,
    ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', 'test/unit/temporal/namespace.test.ts'],
    {
      cwd: repoRoot,
      env: { PATH: bin, HOME: os.tmpdir(), LANG: 'C.UTF-8' },
      extendEnv: false,
      reject: false,
    },
  );
  expect(r.exitCode).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l.trim() && !/ExperimentalWarning|--trace-warnings/.test(l));
  expect(lines).toEqual([
    'npm test needs the Temporal CLI (`temporal`), python3 with pytest, docker-compose, bubblewrap (`bwrap`): ' +
      'run `npm run setup` (see README, "The two commands").',
  ]);
  expect(r.stdout + r.stderr).not.toMatch(/Tests:|PASS|FAIL/);
}, 60_000);

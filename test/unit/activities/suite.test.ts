// The whole suite after the last worker, on real files with real pytest through the launcher:
// a later worker breaking an earlier one's module shows up, and each failure names the workers
// that wrote the test's file or the modules it imports.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { readConfig } from '../../../src/config.js';
import { saveManifest } from '../../../src/activities/manifest-store.js';
import { launcher } from '../../../src/activities/process/launcher.js';
import { failedCases, importedFiles, runSuite, testFileOf, workersOf } from '../../../src/activities/suite.js';
import type { ManifestEntry, ManifestRef, SuiteResult } from '../../../src/schemas.js';

let dir: string;
let workspace: string;
afterAll(() => launcher().close());
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'suite-'));
  workspace = path.join(dir, 'ws');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const entry = (id: string, deliverables: string[], dependencies: string[] = []): ManifestEntry => ({
  id,
  name: id,
  file: path.join(dir, `${id}.md`),
  sha256: 'a'.repeat(64),
  deliverables,
  dependencies,
  provider: 'openai',
  testCommands: [['pytest']],
  replay: null,
  generationEstimateUsd: 0,
});

async function write(files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(workspace, rel)), { recursive: true });
    await writeFile(path.join(workspace, rel), text);
  }
}

/** Three workers' files as they stand after the batch: WORKER_003 rewrote tax.py after WORKER_001's tests passed. */
async function brokenShop(): Promise<ManifestRef> {
  await write({
    'wingman/shop/__init__.py': '',
    'wingman/shop/prices.py':
      'from shop.tax import RATE\n\n\ndef total(amount):\n    return round(amount * (1 + RATE), 2)\n',
    'wingman/tests/test_prices.py':
      'from shop.prices import total\n\n\n' +
      'def test_total_adds_tax():\n    assert total(100) == 120, "SUITE_MARKER: total(100) must be 120"\n\n\n' +
      'def test_zero():\n    assert total(0) == 0\n',
    'wingman/shop/tax.py': 'RATE = 0.25\n',
    'wingman/tests/test_tax.py': 'from shop import tax\n\n\ndef test_rate_positive():\n    assert tax.RATE > 0\n',
    'wingman/tests/test_report.py':
      'from shop.report import render\n\n\ndef test_render():\n    assert render() == "ok"\n',
    'wingman/tests/test_untouched.py': 'def test_alone():\n    assert 1 + 1 == 2\n',
  });
  return saveManifest(path.join(dir, 'manifests'), [
    entry('WORKER_001', ['wingman/shop/prices.py', 'wingman/tests/test_prices.py']),
    entry('WORKER_002', ['wingman/shop/tax.py', 'wingman/tests/test_tax.py']),
    entry('WORKER_003', ['wingman/shop/tax.py'], ['WORKER_002']),
    entry('WORKER_004', ['wingman/tests/test_report.py']),
    entry('WORKER_010', ['wingman/other/unrelated.py']),
  ]);
}

const config = () => readConfig({ WINGMAN_STATE_DIR: path.join(dir, 'state') });

test('a later module breaking an earlier test: counts from JUnit, failures name the workers', async () => {
  const manifest = await brokenShop();
  const reportPath = path.join(dir, 'results', 'report.json');
  const env = new MockActivityEnvironment();
  let beats = 0;
  env.on('heartbeat', () => (beats += 1));
  const result: SuiteResult = await env.run(
    runSuite,
    { config: config() },
    { workspace, pythonRoot: 'wingman', command: ['pytest'], manifest, reportPath },
  );
  expect(result).toMatchObject({ command: 'pytest', exitCode: 1, passed: 3, failed: 1, errors: 1 });
  const byTest = Object.fromEntries(result.failures.map((f) => [f.test, f]));
  // test_prices imports shop.prices, which imports shop.tax: WORKER_001 wrote both, WORKER_002 and WORKER_003 tax.py.
  expect(byTest['tests/test_prices.py::test_total_adds_tax']).toEqual({
    test: 'tests/test_prices.py::test_total_adds_tax',
    message: expect.stringContaining('SUITE_MARKER: total(100) must be 120'),
    workers: ['WORKER_001', 'WORKER_002', 'WORKER_003'],
  });
  // A collection error (the module it imports was never written): the worker that wrote the test.
  const collection = result.failures.find((f) => f.test.startsWith('tests/test_report.py'));
  expect(collection).toMatchObject({ workers: ['WORKER_004'] });
  expect(collection!.message).toMatch(/ModuleNotFoundError|collection/i);
  expect(result.failures).toHaveLength(2);
  // The whole log beside the report.
  expect(await readFile(path.join(dir, 'results', 'suite.log'), 'utf8')).toContain('SUITE_MARKER');
  expect(beats).toBeGreaterThanOrEqual(0); // heartbeats every 5 s; a suite this small may end before the first
}, 60_000);

test('a passing suite: exit 0, no failures; a custom command; a usage error is a failure of the suite', async () => {
  await write({
    'wingman/tests/test_ok.py': 'def test_ok():\n    assert True\n',
    'wingman/tests/test_other.py': 'def test_other():\n    assert False\n',
  });
  const manifest = await saveManifest(path.join(dir, 'manifests'), [entry('WORKER_001', ['wingman/tests/test_ok.py'])]);
  const req = { workspace, pythonRoot: 'wingman', manifest, reportPath: path.join(dir, 'report.json') };
  expect(
    await runSuite({ config: config() }, { ...req, command: ['python', '-m', 'pytest', 'tests/test_ok.py'] }),
  ).toEqual({
    command: 'python -m pytest tests/test_ok.py',
    exitCode: 0,
    passed: 1,
    failed: 0,
    errors: 0,
    failures: [],
  });
  const usage = await runSuite({ config: config() }, { ...req, command: ['pytest', '--no-such-option'] });
  expect(usage).toMatchObject({ exitCode: 4, failed: 1, failures: [{ test: 'pytest --no-such-option', workers: [] }] });
}, 60_000);

test('JUnit cases, test files and imports are read without running anything', () => {
  const xml = `<?xml version="1.0"?><testsuites><testsuite name="pytest" errors="1" failures="1" tests="3">
<testcase classname="tests.test_a.TestX" name="test_one" time="0.1">\
<failure message="AssertionError: assert &apos;a&apos; == &quot;b&quot;">long</failure></testcase>
<testcase classname="tests.test_a" name="test_ok" time="0.1" />
<testcase classname="" name="tests.test_b" time="0">\
<error message="collection failure">E   ModuleNotFoundError: x</error></testcase>
</testsuite></testsuites>`;
  const cases = failedCases(xml);
  expect(cases).toEqual([
    { classname: 'tests.test_a.TestX', name: 'test_one', file: null, message: `AssertionError: assert 'a' == "b"` },
    { classname: '', name: 'tests.test_b', file: null, message: 'collection failure' },
  ]);
  const have = new Set(['tests/test_a.py', 'tests/test_b.py']);
  expect(testFileOf(cases[0]!, (r) => have.has(r))).toBe('tests/test_a.py');
  expect(testFileOf(cases[1]!, (r) => have.has(r))).toBe('tests/test_b.py');
  expect(
    importedFiles(
      'import os, shop.tax as t\nfrom .helpers import (a,\n  b)\nfrom ..core import c\n',
      'tests/unit/test_x.py',
    ),
  ).toEqual(
    expect.arrayContaining([
      'os.py',
      'shop/tax.py',
      'tests/unit/helpers.py',
      'tests/unit/helpers/a.py',
      'tests/core.py',
      'tests/core/c.py',
    ]),
  );
  expect(
    workersOf(
      ['wingman/shop/tax.py'],
      [
        entry('WORKER_010', ['./wingman/shop/tax.py']),
        entry('WORKER_002', ['wingman/shop/tax.py']),
        entry('WORKER_003', ['x.py']),
      ],
    ),
  ).toEqual(['WORKER_002', 'WORKER_010']);
});

// The Web UI in a real browser: a 3-worker batch through the real CLI on a dev server with the
// UI on, then headless Chromium (Debian's, via playwright-core) lists the batch's workers
// filtered by WingmanOutcome = "failed". What the page shows is read from its DOM.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runUiCheck, WORKERS, type UiCheckResult } from '../../scripts/ui-check.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from the IHDR chunk, or throws when the file is not a PNG. */
function pngSize(file: string): { width: number; height: number; bytes: number } {
  const buf = readFileSync(file);
  if (!buf.subarray(0, 8).equals(PNG_MAGIC) || buf.subarray(12, 16).toString('latin1') !== 'IHDR')
    throw new Error(`${file} is not a PNG`);
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20), bytes: statSync(file).size };
}

describe('the Web UI, in headless Chromium', () => {
  let r: UiCheckResult;
  let shots: string;

  beforeAll(async () => {
    // Screenshots of a test run go to a temporary directory; `npm run ui-check` writes docs/screenshots/.
    shots = mkdtempSync(path.join(os.tmpdir(), 'wingman-ui-shots-'));
    r = await runUiCheck({ screenshotDir: shots, batchId: `ui-${Date.now().toString(36)}` });
  }, 300_000);
  afterAll(() => {
    if (shots) rmSync(shots, { recursive: true, force: true });
  });

  test('the batch ran through the CLI: one worker failed its tests, two passed (exit 1)', () => {
    expect({ exitCode: r.cli.exitCode, output: r.cli.output }).toMatchObject({ exitCode: 1 });
    expect(r.report.counts).toMatchObject({ passed: 2, failed: 1 });
    expect(r.report.workers.find((w) => w.id === WORKERS.failed)).toMatchObject({
      outcome: 'failed',
      tests: { passed: 0, failed: 1 },
    });
  });

  test('filtered by WingmanBatchId and WingmanOutcome = "failed", the list holds the failed worker only', () => {
    const list = r.failedList;
    expect(list.url).toContain(
      `?query=${encodeURIComponent(`WingmanBatchId = "${r.batchId}" AND WingmanOutcome = "failed"`)}`,
    );
    expect(list.workflowIds).toEqual([r.ids.failed]);
    expect(list.rowsText).toContain(r.ids.failed);
    for (const passed of r.ids.passed) expect(list.rowsText).not.toContain(passed);
    expect(list.rowsText).not.toMatch(/\bpassed\b/);
    expect(list.heading).toMatch(/^1 Workflow\b/);
    // The UI took the query as its filter, not just as text in the address.
    expect(list.filters).toEqual(
      expect.arrayContaining([`WingmanBatchId = "${r.batchId}"`, 'WingmanOutcome = "failed"']),
    );
  });

  test('filtered by the batch only, the list holds the batch and its three workers', () => {
    const list = r.batchList;
    expect([...list.workflowIds].sort()).toEqual([r.ids.batch, r.ids.failed, ...r.ids.passed].sort());
    expect(list.heading).toMatch(/^4 Workflows\b/);
    const row = (id: string) =>
      list.rowsText.split('\n').find((line) => line.includes(`${id} `) || line.endsWith(id)) ?? '';
    expect(row(r.ids.failed)).toMatch(/\bfailed\b/);
    for (const passed of r.ids.passed) expect(row(passed)).toMatch(/\bpassed\b/);
  });

  test('the screenshots exist and are PNGs of a browser window', () => {
    for (const file of [r.failedList.screenshot, r.batchList.screenshot]) {
      expect(path.dirname(file)).toBe(shots);
      const png = pngSize(file);
      expect(png.width).toBeGreaterThanOrEqual(1000);
      expect(png.height).toBeGreaterThanOrEqual(400);
      expect(png.bytes).toBeGreaterThan(10_000);
    }
    expect(path.basename(r.failedList.screenshot)).toBe('web-ui-failed.png');
    expect(path.basename(r.batchList.screenshot)).toBe('web-ui-batch.png');
  });

  test('the HTML report, when written next to report.json, is screenshotted too', () => {
    if (r.reportHtml === null) {
      expect(r.reportScreenshot).toBeNull();
      return;
    }
    expect(path.basename(r.reportHtml)).toBe('report.html');
    expect(r.reportScreenshot).toBe(path.join(shots, 'report.png'));
    expect(pngSize(r.reportScreenshot!).bytes).toBeGreaterThan(10_000);
  });
});

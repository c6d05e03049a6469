// `npm run ui-check`: the Web UI checked in a real browser. Starts its own dev server with the
// Web UI on, the LLM stand-in, and a 3-worker batch through the real start-batch CLI (one worker
// fails its tests, two pass); then opens the Web UI in headless Chromium (Debian's `chromium`,
// driven by playwright-core), lists the batch's workers filtered by
// `WingmanBatchId = "<id>" AND WingmanOutcome = "failed"`, reads the rows from the DOM and saves
// screenshots: the filtered list, the whole batch, and the batch's HTML report when the CLI
// wrote one next to report.json.
//
//   npm run ui-check                      screenshots into docs/screenshots/
//   npm run ui-check -- --out DIR         somewhere else
//
// CHROMIUM_PATH picks another browser binary (default /usr/bin/chromium).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Report } from '../src/schemas.js';
import { BATCH_ID, OUTCOME, PROVIDER, WORKER_ID } from '../src/temporal/search-attributes.js';
import { batchWorkflowId, instructionWorkflowId } from '../src/workflows/batch/messages.js';
import { cliEnv, repoRoot, runCli } from '../test/support/cli.js';
import { writeInstructions } from '../test/support/instructions.js';
import { startLlmStandIn, type LlmStandIn } from '../test/support/llm-standin.js';
import { temporalCli } from '../test/support/temporal.js';
import { freePort } from '../test/support/ports.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const DEFAULT_SCREENSHOT_DIR = path.join(repoRoot, 'docs', 'screenshots');

/** The batch: WORKER_002's code never satisfies its test, the other two pass. */
export const WORKERS = {
  passed: ['WORKER_001', 'WORKER_003'],
  failed: 'WORKER_002',
} as const;

export interface UiCheckOptions {
  /** Where the PNGs go (created if missing). Default docs/screenshots/. */
  screenshotDir?: string;
  /** Default `ui-check-<time>`. */
  batchId?: string;
  chromiumPath?: string;
  /** How long to wait for the Web UI to list the expected rows. */
  uiTimeoutMs?: number;
  /** Keep the temporary workspace, state and report (their directory is in the result). */
  keepTemp?: boolean;
  log?: (line: string) => void;
}

/** One workflow list as the browser showed it. */
export interface UiListing {
  /** The visibility query, as typed in the Web UI. */
  query: string;
  /** The page opened (the query URL-encoded in `?query=`). */
  url: string;
  /** The list's heading, e.g. "1 Workflow". */
  heading: string;
  /** The filter chips the UI shows for the query, e.g. `WingmanOutcome = "failed"`. */
  filters: string[];
  /** Workflow ids of the table rows, in the order shown (read from each row's link). */
  workflowIds: string[];
  /** The table rows' visible text, one line per row. */
  rowsText: string;
  screenshot: string;
}

export interface UiCheckResult {
  batchId: string;
  uiUrl: string;
  cli: { exitCode: number; output: string };
  report: Report;
  /** Workflow ids of the batch and its workers. */
  ids: { batch: string; failed: string; passed: string[] };
  failedList: UiListing;
  batchList: UiListing;
  /** report.html next to report.json, or null when the CLI did not write one. */
  reportHtml: string | null;
  /** Its screenshot, or null when there was no report.html. */
  reportScreenshot: string | null;
  tempDir: string;
}

const TABLE_ROW = 'tr[data-testid="workflows-summary-configurable-table-row"]';

/** Columns of the workflow table (the Web UI keeps them in localStorage, per namespace). */
const COLUMNS = ['Status', 'Workflow ID', 'WingmanOutcome', 'WingmanProvider', 'Type', 'Start', 'End'];

export async function runUiCheck(opts: UiCheckOptions = {}): Promise<UiCheckResult> {
  const log = opts.log ?? (() => {});
  const screenshotDir = path.resolve(opts.screenshotDir ?? DEFAULT_SCREENSHOT_DIR);
  const batchId = opts.batchId ?? `ui-check-${Date.now().toString(36)}`;
  const chromiumPath = opts.chromiumPath ?? CHROMIUM_PATH;
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  mkdirSync(screenshotDir, { recursive: true });

  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'wingman-ui-check-'));
  const workspace = path.join(tempDir, 'workspace');
  const workersDir = path.join(tempDir, 'workers');
  const stateDir = path.join(tempDir, 'state');
  const reportJson = path.join(tempDir, 'results', batchId, 'report.json');
  const ids = {
    batch: batchWorkflowId(batchId),
    failed: instructionWorkflowId(batchId, WORKERS.failed),
    passed: WORKERS.passed.map((w) => instructionWorkflowId(batchId, w)),
  };

  let server: TestWorkflowEnvironment | undefined;
  let llm: LlmStandIn | undefined;
  let context: BrowserContext | undefined;
  const profileDir = mkdtempSync(path.join(os.tmpdir(), 'wingman-chromium-'));
  try {
    const uiPort = await freePort();
    server = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: temporalCli() },
        ip: '127.0.0.1',
        ui: true,
        uiPort,
        searchAttributes: [BATCH_ID, WORKER_ID, OUTCOME, PROVIDER],
        log: { format: 'pretty', level: 'error' },
      },
    });
    const uiUrl = `http://127.0.0.1:${uiPort}`;
    log(`dev server ${server.address}, Web UI ${uiUrl}`);

    llm = await startLlmStandIn();
    mkdirSync(path.join(workspace, 'wingman', 'tests'), { recursive: true });
    writeFileSync(
      path.join(workspace, 'wingman', 'tests', 'test_pricing.py'),
      [
        'from shop.pricing import total',
        '',
        '',
        'def test_total_adds_tax():',
        '    assert total(100) == 120, "total must add 20% tax"',
        '',
      ].join('\n'),
    );
    writeInstructions(workersDir, [
      { id: 'WORKER_001', name: 'Tokenizer', files: ['wingman/shop/tokenizer.py'] },
      {
        id: 'WORKER_002',
        name: 'Pricing rules',
        files: ['wingman/shop/pricing.py'],
        test: 'pytest tests/test_pricing.py -v',
      },
      { id: 'WORKER_003', name: 'Receipt formatter', files: ['wingman/shop/receipt.py'] },
    ]);
    llm.script('WORKER_001', [{ code: 'def tokenize(text: str) -> list[str]:\n    return text.split()\n' }]);
    // Both the first answer and the regeneration with the test output get the tax wrong.
    llm.script('WORKER_002', [{ code: 'def total(amount: float) -> float:\n    return amount\n' }]);
    llm.script('WORKER_003', [{ code: 'def receipt(total: float) -> str:\n    return f"TOTAL {total:.2f}"\n' }]);

    log(`starting batch ${batchId} through the start-batch CLI`);
    const r = await runCli(
      'starter',
      [
        '--workers',
        workersDir,
        '--workspace',
        workspace,
        '--python-root',
        'wingman',
        '--batch-id',
        batchId,
        '--report',
        reportJson,
      ],
      {
        cwd: tempDir,
        env: cliEnv({
          TEMPORAL_ADDRESS: server.address,
          TEMPORAL_UI_URL: uiUrl,
          OPENAI_API_KEY: 'sk-ui-check-not-a-real-key',
          OPENAI_BASE_URL: llm.openaiBaseUrl,
          WINGMAN_STATE_DIR: stateDir,
          WINGMAN_LLM_MAX_ATTEMPTS: '2',
          WINGMAN_LLM_RETRY_INITIAL_MS: '100',
          WINGMAN_LLM_RETRY_MAX_MS: '200',
        }),
      },
    );
    const cli = { exitCode: r.exitCode, output: `${r.stdout}\n${r.stderr}`.trim() };
    if (!existsSync(reportJson)) throw new Error(`start-batch wrote no report (exit ${cli.exitCode}):\n${cli.output}`);
    const report = JSON.parse(readFileSync(reportJson, 'utf8')) as Report;
    const outcomes = Object.fromEntries(report.workers.map((w) => [w.id, w.outcome]));
    const expected = { WORKER_001: 'passed', WORKER_002: 'failed', WORKER_003: 'passed' };
    if (JSON.stringify(outcomes) !== JSON.stringify(expected)) {
      throw new Error(
        `the batch did not end as scripted: ${JSON.stringify(outcomes)} (exit ${cli.exitCode}):\n${cli.output}`,
      );
    }
    log(`batch finished (exit ${cli.exitCode}): ${JSON.stringify(outcomes)}`);

    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: chromiumPath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1800, height: 600 },
      timezoneId: 'UTC',
      locale: 'en-US',
    });
    const settings = JSON.stringify({ default: COLUMNS.map((label, i) => ({ label, pinned: i < 2 })) });
    await context.addInitScript((value: string) => {
      window.localStorage.setItem('namespace-workflow-table-columns', value);
    }, settings);
    const page = context.pages()[0] ?? (await context.newPage());
    const timeoutMs = opts.uiTimeoutMs ?? 60_000;

    const failedList = await openList(page, uiUrl, `WingmanBatchId = "${batchId}" AND WingmanOutcome = "failed"`, {
      ready: (wfIds) => wfIds.includes(ids.failed),
      screenshot: path.join(screenshotDir, 'web-ui-failed.png'),
      timeoutMs,
    });
    log(`filtered list: ${failedList.heading}: ${failedList.workflowIds.join(', ')}`);
    const all = [ids.batch, ids.failed, ...ids.passed];
    const batchList = await openList(page, uiUrl, `WingmanBatchId = "${batchId}"`, {
      ready: (wfIds) => all.every((id) => wfIds.includes(id)),
      screenshot: path.join(screenshotDir, 'web-ui-batch.png'),
      timeoutMs,
    });
    log(`batch list: ${batchList.heading}: ${batchList.workflowIds.join(', ')}`);

    const html = path.join(path.dirname(reportJson), 'report.html');
    let reportHtml: string | null = null;
    let reportScreenshot: string | null = null;
    if (existsSync(html)) {
      reportHtml = html;
      reportScreenshot = path.join(screenshotDir, 'report.png');
      await page.setViewportSize({ width: 1200, height: 900 });
      await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
      await page.screenshot({ path: reportScreenshot, fullPage: true });
      log(`report page: ${reportScreenshot}`);
    } else {
      log(`no report.html next to ${reportJson}: report screenshot skipped`);
    }

    return { batchId, uiUrl, cli, report, ids, failedList, batchList, reportHtml, reportScreenshot, tempDir };
  } finally {
    await context?.close().catch(() => {});
    rmSync(profileDir, { recursive: true, force: true });
    await llm?.close();
    await server?.teardown();
    if (!opts.keepTemp) rmSync(tempDir, { recursive: true, force: true });
  }
}

/**
 * Opens the workflow list with `query` in the URL and waits until the rows satisfy `ready`
 * (reloading meanwhile: visibility is eventually consistent), then reads it and screenshots it.
 */
async function openList(
  page: Page,
  uiUrl: string,
  query: string,
  o: { ready: (workflowIds: string[]) => boolean; screenshot: string; timeoutMs: number },
): Promise<UiListing> {
  const url = `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
  const deadline = Date.now() + o.timeoutMs;
  let seen: string[] = [];
  for (;;) {
    await page.goto(url, { waitUntil: 'load' });
    const attemptEnd = Math.min(deadline, Date.now() + 10_000);
    while (Date.now() < attemptEnd) {
      seen = await rowIds(page);
      if (o.ready(seen)) break;
      await page.waitForTimeout(250);
    }
    if (o.ready(seen)) break;
    if (Date.now() >= deadline) {
      const shot = o.screenshot.replace(/\.png$/, '.timeout.png');
      await page.screenshot({ path: shot }).catch(() => {});
      throw new Error(
        `the Web UI did not list the expected workflows for ${query} within ${o.timeoutMs} ms; ` +
          `it showed [${seen.join(', ')}] (screenshot ${shot})`,
      );
    }
  }
  // Let the table settle (heading and row count come from separate requests).
  await page.waitForLoadState('networkidle').catch(() => {});
  const workflowIds = await rowIds(page);
  const heading = (await page.locator('h1').first().innerText()).replace(/\s+/g, ' ').trim();
  const rowsText = (await page.locator(TABLE_ROW).allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()).join('\n');
  const filters = (await page.getByRole('button', { name: /^Wingman\w+ / }).allInnerTexts()).map((t) =>
    t.replace(/\s+/g, ' ').trim(),
  );
  await page.screenshot({ path: o.screenshot });
  return { query, url, heading, filters, workflowIds, rowsText, screenshot: o.screenshot };
}

/** Workflow ids of the listed rows, from each row's first link (`/namespaces/<ns>/workflows/<id>/<run>/...`). */
async function rowIds(page: Page): Promise<string[]> {
  return page.locator(TABLE_ROW).evaluateAll((rows) =>
    rows.flatMap((row) => {
      const href = row.querySelector('a[href*="/workflows/"]')?.getAttribute('href');
      const m = href ? /\/workflows\/([^/]+)\//.exec(href) : null;
      return m?.[1] ? [decodeURIComponent(m[1])] : [];
    }),
  );
}

async function main(argv: string[]): Promise<number> {
  const outIndex = argv.indexOf('--out');
  const screenshotDir = outIndex >= 0 ? argv[outIndex + 1] : undefined;
  if (outIndex >= 0 && !screenshotDir) throw new Error('--out needs a directory');
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const r = await runUiCheck({ screenshotDir, batchId: 'ui-check', log: (line) => console.log(line) });
  const problems: string[] = [];
  if (!r.failedList.workflowIds.includes(r.ids.failed))
    problems.push(`the failed worker ${r.ids.failed} is not in the filtered list`);
  for (const id of r.ids.passed)
    if (r.failedList.workflowIds.includes(id)) problems.push(`the passed worker ${id} is in the filtered list`);
  console.log(`filtered by WingmanOutcome = "failed": ${r.failedList.workflowIds.join(', ')}`);
  console.log(
    `screenshots: ${[r.failedList.screenshot, r.batchList.screenshot, r.reportScreenshot].filter(Boolean).join(', ')}`,
  );
  if (!r.reportScreenshot) console.log('no report.html was written next to report.json: no report screenshot');
  for (const p of problems) console.error(p);
  return problems.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}

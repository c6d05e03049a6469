// npm run bench: how close Wingman gets to the best possible makespan, how much faster it is
// than the fixed batches it replaces, and how many workers a minute it runs when the LLM is
// instant. Prints a table and writes everything measured to bench/results/<timestamp>.json.
//
//   npm run bench -- [--workers 225] [--concurrency 50] [--median-ms 5000] [--sigma 0.6] [--seed 42]
//                    [--instant-workers 1000] [--instant-concurrency 200] [--batch-size 50]
//                    [--skip-throughput] [--skip-makespan] [--skip-engine] [--runs 1] [--cpu-prof]
//                    [--also-split] [--profile-sample 40] [--keep]
//                    [--lessons] [--lesson-packages 6] [--lesson-learners 4]
//
// Each Temporal run gets a fresh dev server (the `temporal` CLI, SQLite file with WAL, as
// start-batch starts one), a fresh worker process (`src/worker.ts`, every queue) and start-batch
// with --no-worker; the LLM is the test stand-in (real openai SDK over HTTP) answering each worker
// after its seeded latency. The fixed-batch run (bench/fixed-batch.ts) does the same per-worker
// steps in-process, without Temporal. Runs alternate order so drift in the machine's load hits
// both ways alike. After each Temporal run, worker and batch histories say where the time went;
// a batch where no worker finishes for minutes is stopped and reported as a hang. With --lessons, the
// lessons workload (bench/lessons.ts) runs with and without lessons, and the table shows the
// regenerations lessons saved.
//
// Beside each throughput run, unless --skip-engine, the bare engine (bench/engine/) runs the same
// number of 3-activity children at the same concurrency on a dev server of its own, in alternating
// order: Wingman's rate is printed as a share of the engine's. Each throughput run's histories also
// give the engine work per worker (bench/engine-work.ts: events, tasks, visibility writes, signals,
// Cloud actions) for Wingman and the engine, and the worker's RSS sampled across the batch's
// continue-as-new runs (bench/memory.ts).
import { Client, Connection } from '@temporalio/client';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Report } from '../src/schemas.js';
import { startLlmStandIn, type LlmStandIn } from '../test/support/llm-standin.js';
import { summarizeCpuProfile, type CpuSummary } from './cpuprofile.js';
import { STEPS, type FixedBatchResult } from './fixed-batch.js';
import {
  diagnoseRuns,
  dist,
  median,
  profileChildren,
  profileParent,
  type ChildProfile,
  type ParentProfile,
  type RunDiagnosis,
} from './history.js';
import { childWindow, historySizes, runHistories, type HistorySizes } from './history.js';
import { engineWorkTable, medianWork, workOf, type WorkPerWorker } from './engine-work.js';
import { engineRun, type EngineRun } from './engine/run.js';
import { describeRss, rssAcrossRuns, runSpans, sampleRss, type RssAcrossRuns, type RssSample } from './memory.js';
import { ideal, type Ideal } from './ideal.js';
import {
  childEnv,
  descendantsCpuS,
  machineCpu,
  repoRoot,
  startDevServer,
  startTs,
  startWorker,
  stopAll,
  type ProcStats,
} from './procs.js';
import { codeFor, tierSizes, tieredWorkload, writeWorkload, type BenchWorker } from './workload.js';
import { lessonsAnswer, lessonsWorkload, writeLessonsWorkload, type LessonWorker } from './lessons.js';
import { dataConverter } from '../src/temporal/codec.js';

/** Instant-LLM targets by batch size (issue 11): 1,000 workers in under 45 s, 10,000 in under 10 minutes. */
const INSTANT_TARGET_MS: Record<number, number> = { 1000: 45_000, 10_000: 600_000 };
const TARGET = { makespanRatio: 1.1, fasterThanFixed: 0.25, ofEngine: 0.4 };

const { values: flags } = parseArgs({
  options: {
    workers: { type: 'string', default: '225' },
    concurrency: { type: 'string', default: '50' },
    'median-ms': { type: 'string', default: '5000' },
    sigma: { type: 'string', default: '0.6' },
    seed: { type: 'string', default: '42' },
    'instant-workers': { type: 'string', default: '1000' },
    'instant-concurrency': { type: 'string', default: '200' },
    'batch-size': { type: 'string', default: '50' },
    'skip-throughput': { type: 'boolean', default: false },
    'skip-makespan': { type: 'boolean', default: false },
    'skip-engine': { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    'cpu-prof': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'profile-sample': { type: 'string', default: '40' },
    'also-split': { type: 'boolean', default: false },
    lessons: { type: 'boolean', default: false },
    'lesson-packages': { type: 'string', default: '6' },
    'lesson-learners': { type: 'string', default: '4' },
  },
});
const num = (k: keyof typeof flags) => {
  const v = Number(flags[k]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${k}: not a number: ${flags[k]}`);
  return v;
};
const opts = {
  workers: num('workers'),
  concurrency: num('concurrency'),
  medianMs: num('median-ms'),
  sigma: num('sigma'),
  seed: num('seed'),
  instantWorkers: num('instant-workers'),
  instantConcurrency: num('instant-concurrency'),
  batchSize: num('batch-size'),
  runs: Math.max(1, num('runs')),
  skipThroughput: flags['skip-throughput']!,
  skipMakespan: flags['skip-makespan']!,
  /** No bare-engine runs beside the throughput runs. */
  skipEngine: flags['skip-engine']!,
  cpuProf: flags['cpu-prof']!,
  keep: flags.keep!,
  profileSample: num('profile-sample'),
  /** Also run every Temporal measurement with the workspace queue in a worker process of its own. */
  alsoSplit: flags['also-split']!,
  /** Also run the lessons workload with and without lessons. */
  lessons: flags.lessons!,
  lessonPackages: Math.max(1, num('lesson-packages')),
  lessonLearners: num('lesson-learners'),
};
type Shape = 'single' | 'split';

const stamp = new Date()
  .toISOString()
  .replace(/[:.]/g, '-')
  .replace(/-\d{3}Z$/, 'Z');
const resultsDir = path.join(repoRoot, 'bench', 'results');
const root = mkdtempSync(path.join(os.tmpdir(), 'wingman-bench-'));
const log = (s: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

// ---- the stand-in LLM, answering each worker of the current workload after its latency ----
let current = new Map<string, BenchWorker>();
/** The lessons workload's workers, answered by what their prompt carries (bench/lessons.ts). */
let lessonWorkers = new Map<string, LessonWorker>();
function useWorkload(workers: BenchWorker[], instant = false): void {
  current = new Map(workers.map((w) => [w.id, instant ? { ...w, latencyMs: 0 } : w]));
  lessonWorkers = new Map();
}
let llm: LlmStandIn;

// ---- one Temporal run ----
interface TemporalRun {
  name: string;
  /** single: one worker process serves every queue; split: the workspace queue has a process of its own. */
  shape: Shape;
  workers: number;
  concurrency: number;
  exitCode: number;
  /** The batch workflow's start to its end (report startedAt → finishedAt), ms. */
  makespanMs: number;
  /** start-batch spawned → exited (validating the instructions, the batch, the report), ms. */
  starterWallMs: number;
  counts: Report['counts'];
  /** The report lists every worker of the workload once, and its counts add up to the workload. */
  countedOnce: boolean;
  worker: { peakRssMb: number; cpuS: number; childCpuS: number } | null;
  /** The workspace-queue worker process of the split shape. */
  workspaceWorker?: { peakRssMb: number; cpuS: number; childCpuS: number } | null;
  /**
   * Whole machine during the batch: busy CPU seconds, and the share of all cores that was busy (ours and everyone
   * else's).
   */
  machine: { busyS: number; utilization: number };
  server: { peakRssMb: number; cpuS: number } | null;
  starter: { peakRssMb: number; cpuS: number } | null;
  benchCpuS: number;
  children?: ChildProfile;
  parent?: ParentProfile;
  cpuProfile?: CpuSummary;
  workspaceCpuProfile?: CpuSummary;
  /** The runs of the batch workflow (continue-as-new), with what each inherited and left behind. */
  runs?: RunDiagnosis[];
  /** Size of every instruction workflow's history. */
  historySizes?: HistorySizes;
  /** The batch's first child started → its last run closed (ms since the epoch), and the rate over it. */
  window?: { firstChildStartMs: number; closedMs: number; lastChildClosedMs?: number };
  workersPerSecond?: number;
  /** RSS every 2 s while start-batch ran, and read against the batch's continue-as-new runs. */
  rss?: RssSample[];
  rssAcrossRuns?: { worker: RssAcrossRuns; server: RssAcrossRuns; workspaceWorker?: RssAcrossRuns };
  /** Engine work per worker, from the histories (throughput runs). */
  work?: WorkPerWorker;
  error?: string;
}

interface RunOptions {
  cpuProf?: boolean;
  shape?: Shape;
  /** Writes the instructions (and anything the workspace needs) instead of writeWorkload. */
  write?: (workersDir: string, workspace: string) => void;
  env?: Record<string, string>;
  args?: string[];
  /** Called with the report when the batch ended. */
  onReport?: (report: Report) => void;
  /** Count the engine work per worker from the histories. */
  engineWork?: boolean;
}

async function temporalRun(
  name: string,
  workers: BenchWorker[],
  concurrency: number,
  o: RunOptions = {},
): Promise<TemporalRun> {
  const shape = o.shape ?? 'single';
  const dir = mkdtempSync(path.join(root, `${name}-`));
  const workersDir = path.join(dir, 'workers');
  const workspace = path.join(dir, 'workspace');
  mkdirSync(workspace, { recursive: true });
  if (o.write) o.write(workersDir, workspace);
  else writeWorkload(workersDir, workers);
  const server = await startDevServer({ dbFile: path.join(dir, 'temporal.db') });
  const env = childEnv({
    TEMPORAL_ADDRESS: server.address,
    OPENAI_API_KEY: 'sk-bench-not-a-real-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    WINGMAN_STATE_DIR: path.join(dir, 'state'),
    // The LLM queue takes as many calls as the batch runs at once (its default is 50).
    WINGMAN_OPENAI_CONCURRENCY: String(concurrency),
    ...o.env,
  });
  const profDir = path.join(dir, 'cpuprof');
  const nodeFlags = o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const worker = await startWorker({
    env,
    nodeFlags,
    args: shape === 'split' ? ['--queues', 'wingman,llm-openai'] : [],
  });
  const wsProfDir = path.join(dir, 'cpuprof-workspace');
  const wsWorker =
    shape === 'split'
      ? await startWorker({
          env,
          args: ['--queues', 'workspace'],
          nodeFlags: o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${wsProfDir}`] : [],
        })
      : undefined;
  const batchId = `${name}-${stamp}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 60);
  const reportPath = path.join(dir, 'report.json');
  const w0 = worker.stats();
  const ws0 = wsWorker?.stats();
  const cpu0 = {
    worker: w0?.cpuS ?? 0,
    workerChildren: descendantsCpuS(worker.pid),
    ws: ws0?.cpuS ?? 0,
    wsChildren: wsWorker ? descendantsCpuS(wsWorker.pid) : 0,
    server: server.stats()?.cpuS ?? 0,
    bench: process.cpuUsage(),
    machine: machineCpu(),
  };
  const stopSampling = sampleRss({ worker, server, workspaceWorker: wsWorker });
  const t0 = Date.now();
  const starter = startTs(
    'src/starter.ts',
    [
      '--workers',
      workersDir,
      '--workspace',
      workspace,
      '--python-root',
      'wingman',
      '--batch-id',
      batchId,
      '--concurrency',
      String(concurrency),
      '--no-worker',
      '--json',
      '--report',
      reportPath,
      ...(o.args ?? []),
    ],
    { env, cwd: dir },
  );
  let starterStats: ProcStats | null = null;
  // Progress from start-batch's --json lines; a batch where no worker finishes for a long while
  // has hung (not slowed down): it is stopped and reported, and the benchmark goes on.
  let finished = -1;
  let lastProgress = Date.now();
  let partial = '';
  starter.child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const p = JSON.parse(line) as { counts?: Record<string, number> };
        const n = p.counts ? Object.values(p.counts).reduce((a, b) => a + b, 0) : finished;
        if (n !== finished) [finished, lastProgress] = [n, Date.now()];
      } catch {
        // not a progress line
      }
    }
  });
  const stallMs = Math.max(180_000, 30 * opts.medianMs);
  let stalled = false;
  const poll = setInterval(() => {
    starterStats = starter.stats() ?? starterStats;
    if (!stalled && Date.now() - lastProgress > stallMs) {
      stalled = true;
      log(
        `${name}: no worker finished for ${stallMs / 1000} s (${finished} results for ${workers.length} workers): ` +
          'stopping start-batch',
      );
      void starter.stop(5_000);
    }
  }, 500);
  const exitCode = await starter.exited;
  clearInterval(poll);
  const starterWallMs = Date.now() - t0;
  const rss = stopSampling();
  const w = worker.stats();
  const ws = wsWorker?.stats();
  const wChildren = descendantsCpuS(worker.pid);
  const wsChildren = wsWorker ? descendantsCpuS(wsWorker.pid) : 0;
  const s = server.stats();
  const benchCpu = process.cpuUsage(cpu0.bench);
  const m1 = machineCpu();
  const run: TemporalRun = {
    name,
    shape,
    workers: workers.length,
    concurrency,
    exitCode,
    makespanMs: NaN,
    starterWallMs,
    counts: { passed: 0, failed: 0, guide: 0, llm_timeout: 0, error: 0, skipped: 0 },
    countedOnce: false,
    worker: w && { peakRssMb: w.peakRssMb, cpuS: w.cpuS - cpu0.worker, childCpuS: wChildren - cpu0.workerChildren },
    ...(wsWorker
      ? {
          workspaceWorker: ws && {
            peakRssMb: ws.peakRssMb,
            cpuS: ws.cpuS - cpu0.ws,
            childCpuS: wsChildren - cpu0.wsChildren,
          },
        }
      : {}),
    machine: {
      busyS: m1.busyS - cpu0.machine.busyS,
      utilization: (m1.busyS - cpu0.machine.busyS) / (m1.totalS - cpu0.machine.totalS),
    },
    server: s && { peakRssMb: s.peakRssMb, cpuS: s.cpuS - cpu0.server },
    starter: starterStats && {
      peakRssMb: (starterStats as ProcStats).peakRssMb,
      cpuS: (starterStats as ProcStats).cpuS,
    },
    benchCpuS: (benchCpu.user + benchCpu.system) / 1e6,
    rss,
  };
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection, dataConverter });
    run.runs = await diagnoseRuns(client, batchId).catch(() => undefined);
    if (stalled) run.starterWallMs = NaN;
    const over = finished > workers.length ? ' (more results than workers: some ran twice)' : '';
    if (stalled)
      throw new Error(
        `stalled: no worker finished for ${stallMs / 1000} s ` +
          `at ${finished} results for ${workers.length} workers${over}; batch runs: ${JSON.stringify(run.runs)}`,
      );
    // A workload made to fail some workers (--lessons) ends 1; every other exit is a problem.
    const expected = o.onReport ? [0, 1] : [0];
    if (!expected.includes(exitCode)) run.starterWallMs = NaN;
    if (!expected.includes(exitCode))
      throw new Error(`start-batch exited ${exitCode}:\n${starter.output().slice(-3000)}`);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
    o.onReport?.(report);
    run.makespanMs = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
    run.counts = report.counts;
    const ids = new Set(report.workers.map((w) => w.id));
    run.countedOnce =
      report.workers.length === workers.length &&
      workers.every((w) => ids.has(w.id)) &&
      Object.values(report.counts).reduce((a, b) => a + b, 0) === workers.length;
    log(
      `${name}: makespan ${(run.makespanMs / 1000).toFixed(1)} s, ` +
        `start-batch ${(starterWallMs / 1000).toFixed(1)} s, ` +
        `${run.runs?.length ?? '?'} batch run(s); profiling the histories`,
    );
    run.children = await profileChildren(
      client,
      batchId,
      workers.map((x) => x.id),
      opts.profileSample,
    );
    run.parent = await profileParent(client, batchId);
    run.historySizes = await historySizes(
      client,
      batchId,
      workers.map((x) => x.id),
    );
    const batchRuns = await runHistories(client, `batch-${batchId}`);
    const spans = runSpans(batchRuns);
    const across = (pick: (x: RssSample) => number | undefined) =>
      rssAcrossRuns(
        rss.flatMap((x) => {
          const value = pick(x);
          return value === undefined ? [] : [{ atMs: x.atMs, mb: value }];
        }),
        spans,
      );
    run.rssAcrossRuns = {
      worker: across((x) => x.workerMb),
      server: across((x) => x.serverMb),
      ...(wsWorker ? { workspaceWorker: across((x) => x.workspaceWorkerMb) } : {}),
    };
    run.window = childWindow(batchRuns);
    run.workersPerSecond = workers.length / ((run.window.closedMs - run.window.firstChildStartMs) / 1000);
    if (o.engineWork) {
      const childIds = workers.map((x) => `batch-${batchId}/${x.id}`);
      run.work = await workOf(client, batchRuns, childIds);
      run.window.lastChildClosedMs = run.work.lastChildClosedMs;
    }
  } catch (err) {
    run.error = (err as Error).message;
    log(`${name}: ${run.error}`);
  } finally {
    await connection.close();
    await worker.stop(30_000);
    await wsWorker?.stop(30_000);
    await server.stop();
  }
  if (o.cpuProf) {
    const keep = (dir: string, what: string): CpuSummary | undefined => {
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      if (!file) return undefined;
      const dest = path.join(resultsDir, `${stamp}-${name}-${what}.cpuprofile`);
      writeFileSync(dest, readFileSync(path.join(dir, file)));
      return summarizeCpuProfile(dest);
    };
    run.cpuProfile = keep(profDir, 'worker');
    if (wsWorker) run.workspaceCpuProfile = keep(wsProfDir, 'workspace-worker');
  }
  return run;
}

// ---- one fixed-batch run (or the sequential calibration) ----
interface FixedRun {
  name: string;
  exitCode: number;
  result?: FixedBatchResult;
  makespanMs: number;
  wallMs: number;
  process: { peakRssMb: number; cpuS: number } | null;
  error?: string;
}

async function fixedRun(
  name: string,
  workers: BenchWorker[],
  o: { sequential?: boolean; batchSize?: number },
): Promise<FixedRun> {
  const dir = mkdtempSync(path.join(root, `${name}-`));
  const workersDir = path.join(dir, 'workers');
  const workspace = path.join(dir, 'workspace');
  mkdirSync(workspace, { recursive: true });
  writeWorkload(workersDir, workers);
  const out = path.join(dir, 'result.json');
  const env = childEnv({
    OPENAI_API_KEY: 'sk-bench-not-a-real-key',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    WINGMAN_STATE_DIR: path.join(dir, 'state'),
  });
  const t0 = Date.now();
  const p = startTs(
    'bench/fixed-batch.ts',
    [
      '--workers',
      workersDir,
      '--workspace',
      workspace,
      '--python-root',
      'wingman',
      '--batch-size',
      String(o.batchSize ?? opts.batchSize),
      '--out',
      out,
      ...(o.sequential ? ['--sequential'] : []),
    ],
    { env, cwd: dir },
  );
  let stats: ProcStats | null = null;
  const poll = setInterval(() => (stats = p.stats() ?? stats), 250);
  const exitCode = await p.exited;
  clearInterval(poll);
  const run: FixedRun = {
    name,
    exitCode,
    makespanMs: NaN,
    wallMs: Date.now() - t0,
    process: stats && { peakRssMb: (stats as ProcStats).peakRssMb, cpuS: (stats as ProcStats).cpuS },
  };
  if (exitCode !== 0) {
    run.error = `fixed-batch exited ${exitCode}:\n${p.output().slice(-3000)}`;
    log(`${name}: ${run.error}`);
    return run;
  }
  run.result = JSON.parse(readFileSync(out, 'utf8')) as FixedBatchResult;
  run.makespanMs = run.result.makespanMs;
  log(`${name}: makespan ${(run.makespanMs / 1000).toFixed(1)} s (${run.result.batches.length} batches)`);
  return run;
}

// ---- formatting ----
const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'n/a');
const mb = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? `${Math.round(x)} MB` : 'n/a');
const int = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? String(Math.round(x)) : 'n/a');
const fixed1 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const pct = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? `${Math.round(x * 100)}%` : 'n/a');
/** CPU seconds per worker, one figure per process kind, as "a / b / c ms". */
const cpuMs = (...seconds: number[]) => `${seconds.map((s) => Math.round(s * 1000)).join(' / ')} ms`;
const verdict = (ok: boolean | null) => (ok === null ? '' : ok ? 'PASS' : 'MISS');
function table(rows: Array<[string, string, string?, string?]>): string {
  const w = [0, 0, 0];
  for (const r of rows)
    if (r[1] !== '' || r[2]) for (let i = 0; i < 3; i++) w[i] = Math.max(w[i]!, (r[i] ?? '').length);
  return rows
    .map((r) =>
      r[1] === '' && !r[2]
        ? r[0]
        : [r[0].padEnd(w[0]!), (r[1] ?? '').padStart(w[1]!), (r[2] ?? '').padEnd(w[2]!), r[3] ?? '']
            .join('   ')
            .trimEnd(),
    )
    .join('\n');
}

async function main(): Promise<void> {
  mkdirSync(resultsDir, { recursive: true });
  llm = await startLlmStandIn();
  llm.fallback(({ workerId, prompt }) => {
    const lw = workerId ? lessonWorkers.get(workerId) : undefined;
    if (lw) return { files: { [lw.file]: lessonsAnswer(lw, prompt) } };
    const w = workerId ? current.get(workerId) : undefined;
    if (!w) return { status: 400, message: `bench stand-in: no worker ${workerId} in this workload` };
    return { files: { [w.file]: codeFor(w) }, delayMs: w.latencyMs };
  });
  const started = Date.now();
  const load0 = os.loadavg();
  const cpus = os.cpus().length;
  log(`results in ${resultsDir}; scratch in ${root}; ${cpus} cores, load ${load0.map((l) => l.toFixed(2)).join(' ')}`);

  const json: Record<string, unknown> = {
    startedAt: new Date(started).toISOString(),
    options: opts,
    machine: { cpus, model: os.cpus()[0]?.model, node: process.version, loadavgStart: load0 },
  };

  // ---- makespan vs ideal, and against fixed batches ----
  let makespan: Record<string, unknown> | undefined;
  if (!opts.skipMakespan) {
    const workload = tieredWorkload({
      workers: opts.workers,
      seed: opts.seed,
      medianMs: opts.medianMs,
      sigma: opts.sigma,
    });
    // Fixed per-worker cost: every worker's own steps, one at a time, the LLM answering at once.
    log(`calibrating the per-worker cost: ${workload.length} workers one at a time, instant LLM`);
    useWorkload(workload, true);
    llm.reset();
    const calib = await fixedRun('calibration', workload, { sequential: true });
    if (!calib.result) throw new Error(`calibration failed: ${calib.error}`);
    const costOf = new Map(calib.result.workers.map((t) => [t.id, t.endMs - t.startMs]));
    const costMedian = median([...costOf.values()]);
    const stepMedians = Object.fromEntries(
      STEPS.map((s) => [s, Math.round(median(calib.result!.workers.map((t) => t.steps[s] ?? 0)) * 10) / 10]),
    );
    const withCost = workload.map((w) => ({ ...w, latencyMs: w.latencyMs + (costOf.get(w.id) ?? costMedian) }));
    // ideal() adds a constant cost; here each worker's own measured cost is already in its work.
    const best: Ideal = { ...ideal(withCost, opts.concurrency, 0), fixedCostMs: costMedian };
    const llmOnly = ideal(workload, opts.concurrency, 0);
    log(`ideal ${sec(best.idealMs)} (${best.bound}); per-worker cost median ${costMedian} ms`);

    useWorkload(workload);
    const temporal: TemporalRun[] = [];
    const fixed: FixedRun[] = [];
    const kinds: Array<Shape | 'fixed'> = ['single', 'fixed', ...(opts.alsoSplit ? (['split'] as const) : [])];
    for (let r = 0; r < opts.runs; r++) {
      const order = r % 2 === 0 ? [...kinds] : [...kinds].reverse();
      for (const which of order) {
        llm.reset();
        const how =
          which === 'fixed' ? `fixed batches of ${opts.batchSize}` : `Temporal (sliding window, ${which} worker)`;
        log(`run ${r + 1}/${opts.runs}: ${how}, ${workload.length} workers`);
        if (which === 'fixed') fixed.push(await fixedRun(`fixed-${r + 1}`, workload, {}));
        else
          temporal.push(await temporalRun(`makespan-${which}-${r + 1}`, workload, opts.concurrency, { shape: which }));
      }
    }
    const fMs = median(fixed.map((f) => f.makespanMs));
    const makespanOf = (shape: Shape) => {
      const runs = temporal.filter((t) => t.shape === shape);
      const tMs = median(runs.map((t) => t.makespanMs));
      return {
        temporalMakespanMs: tMs,
        ratioToIdeal: tMs / best.idealMs,
        fasterThanFixed: 1 - tMs / fMs,
        overheadPerWorkerMs: (tMs - best.idealMs) / workload.length,
        workerPeakRssMb: median(runs.map((t) => t.worker?.peakRssMb ?? NaN)),
        workspaceWorkerPeakRssMb: median(runs.map((t) => t.workspaceWorker?.peakRssMb ?? NaN)),
        serverPeakRssMb: median(runs.map((t) => t.server?.peakRssMb ?? NaN)),
      };
    };
    makespan = {
      workload: {
        workers: workload.length,
        tiers: tierSizes(opts.workers),
        medianMs: opts.medianMs,
        sigma: opts.sigma,
        seed: opts.seed,
        concurrency: opts.concurrency,
        latency: dist(workload.map((w) => w.latencyMs)),
      },
      calibration: { perWorkerMs: dist([...costOf.values()]), stepMedianMs: stepMedians, wallMs: calib.wallMs },
      ideal: best,
      idealLlmOnly: {
        criticalPathMs: llmOnly.criticalPathMs,
        workBoundMs: llmOnly.workBoundMs,
        idealMs: llmOnly.idealMs,
      },
      temporal,
      fixed: fixed.map(({ result, ...rest }) => ({
        ...rest,
        batches: result?.batches,
        counts: result?.counts,
        stepMedianMs:
          result &&
          Object.fromEntries(STEPS.map((s) => [s, Math.round(median(result.workers.map((t) => t.steps[s] ?? 0)))])),
      })),
      medians: {
        ...makespanOf('single'),
        ...(opts.alsoSplit ? { split: makespanOf('split') } : {}),
        fixedMakespanMs: fMs,
        fixedRatioToIdeal: fMs / best.idealMs,
        fixedPeakRssMb: median(fixed.map((f) => f.process?.peakRssMb ?? NaN)),
      },
    };
    json.makespan = makespan;
  }

  // ---- throughput with an instant LLM ----
  let throughput: Record<string, unknown> | undefined;
  if (!opts.skipThroughput) {
    const workload = tieredWorkload({ workers: opts.instantWorkers, seed: opts.seed, medianMs: 0, sigma: 0 });
    useWorkload(workload, true);
    const runs: TemporalRun[] = [];
    const engineRuns: EngineRun[] = [];
    const kinds: Array<Shape | 'engine'> = [
      'single',
      ...(opts.alsoSplit ? (['split'] as const) : []),
      ...(opts.skipEngine ? [] : (['engine'] as const)),
    ];
    for (let r = 0; r < opts.runs; r++) {
      for (const kind of r % 2 === 0 ? kinds : [...kinds].reverse()) {
        if (kind === 'engine') {
          const name = `engine-${r + 1}`;
          log(
            `run ${r + 1}/${opts.runs}: bare engine, ${workload.length} children of 3 no-op activities, ` +
              `concurrency ${opts.instantConcurrency}`,
          );
          engineRuns.push(
            await engineRun(name, {
              dir: mkdtempSync(path.join(root, `${name}-`)),
              children: workload.length,
              concurrency: opts.instantConcurrency,
              workflowId: `${name}-${stamp}`,
              log,
            }),
          );
          continue;
        }
        llm.reset();
        log(
          `run ${r + 1}/${opts.runs}: throughput, ${workload.length} workers, instant LLM, ` +
            `concurrency ${opts.instantConcurrency}, ${kind} worker${opts.cpuProf ? ' under --cpu-prof' : ''}`,
        );
        runs.push(
          await temporalRun(`instant-${kind}-${r + 1}`, workload, opts.instantConcurrency, {
            cpuProf: opts.cpuProf,
            shape: kind,
            engineWork: true,
          }),
        );
      }
    }
    // The per-worker cost measured on the makespan workload, else a rough 150 ms.
    const cost = (makespan?.ideal as Ideal | undefined)?.fixedCostMs ?? 150;
    const best = ideal(workload, opts.instantConcurrency, cost);
    // The bare engine's rate and CPU beside Wingman's, medians over its runs.
    const engineMedians = {
      childrenPerSecond: median(engineRuns.map((e) => e.childrenPerSecond)),
      windowMs: median(engineRuns.map((e) => e.windowMs)),
      workerCpuSPerChild: median(engineRuns.map((e) => (e.worker?.cpuS ?? NaN) / e.children)),
      serverCpuSPerChild: median(engineRuns.map((e) => (e.server?.cpuS ?? NaN) / e.children)),
      workerPeakRssMb: median(engineRuns.map((e) => e.worker?.peakRssMb ?? NaN)),
      serverPeakRssMb: median(engineRuns.map((e) => e.server?.peakRssMb ?? NaN)),
      machineUtilization: median(engineRuns.map((e) => e.machine.utilization)),
    };
    const byShape = (shape: Shape) => {
      const rs = runs.filter((t) => t.shape === shape);
      const mk = median(rs.map((t) => t.makespanMs));
      const wall = median(rs.map((t) => t.starterWallMs));
      return {
        makespanMs: mk,
        starterWallMs: wall,
        workersPerMinute: (workload.length / mk) * 60_000,
        workersPerMinuteEndToEnd: (workload.length / wall) * 60_000,
        overheadPerWorkerMs: (mk - best.idealMs) / workload.length,
        workerPeakRssMb: median(rs.map((t) => t.worker?.peakRssMb ?? NaN)),
        workspaceWorkerPeakRssMb: median(rs.map((t) => t.workspaceWorker?.peakRssMb ?? NaN)),
        serverPeakRssMb: median(rs.map((t) => t.server?.peakRssMb ?? NaN)),
        workerCpuSPerWorker: median(
          rs.map((t) => ((t.worker?.cpuS ?? NaN) + (t.workspaceWorker?.cpuS ?? 0)) / workload.length),
        ),
        serverCpuSPerWorker: median(rs.map((t) => (t.server?.cpuS ?? NaN) / workload.length)),
        childCpuSPerWorker: median(
          rs.map((t) => ((t.worker?.childCpuS ?? NaN) + (t.workspaceWorker?.childCpuS ?? 0)) / workload.length),
        ),
        machineUtilization: median(rs.map((t) => t.machine.utilization)),
        machineCpuSPerWorker: median(rs.map((t) => t.machine.busyS / workload.length)),
        workersPerSecond: median(rs.map((t) => t.workersPerSecond ?? NaN)),
        workersPerSecondToLastWorker: median(
          rs.map((t) =>
            t.window?.lastChildClosedMs !== undefined
              ? workload.length / ((t.window.lastChildClosedMs - t.window.firstChildStartMs) / 1000)
              : NaN,
          ),
        ),
        ofEngine: median(rs.map((t) => t.workersPerSecond ?? NaN)) / engineMedians.childrenPerSecond,
      };
    };
    throughput = {
      workers: workload.length,
      concurrency: opts.instantConcurrency,
      ideal: best,
      runs,
      medians: { ...byShape('single'), ...(opts.alsoSplit ? { split: byShape('split') } : {}) },
      engine: opts.skipEngine ? undefined : { runs: engineRuns, medians: engineMedians },
      work: {
        wingman: medianWork(runs.filter((t) => t.shape === 'single').flatMap((t) => (t.work ? [t.work] : []))),
        ...(opts.alsoSplit
          ? { split: medianWork(runs.filter((t) => t.shape === 'split').flatMap((t) => (t.work ? [t.work] : []))) }
          : {}),
        engine: medianWork(engineRuns.flatMap((e) => (e.work ? [e.work] : []))),
      },
    };
    json.throughput = throughput;
  }

  // ---- lessons: regenerations saved ----
  let lessons: LessonsResult | undefined;
  if (opts.lessons) {
    lessons = await lessonsRuns();
    json.lessons = lessons;
  }

  json.finishedAt = new Date().toISOString();
  (json.machine as Record<string, unknown>).loadavgEnd = os.loadavg();
  const out = path.join(resultsDir, `${stamp}.json`);
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);

  // ---- the table ----
  const rows: Array<[string, string, string?, string?]> = [];
  rows.push([
    `Wingman benchmark ${stamp}: ${cpus} cores (load ${load0[0]!.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}), ` +
      `seed ${opts.seed}, ${opts.runs} run${opts.runs > 1 ? 's (medians)' : ''}`,
    '',
  ]);
  rows.push(['', '']);
  if (makespan) {
    const m = makespan.medians as Record<string, number> & { split?: Record<string, number> };
    const b = makespan.ideal as Ideal;
    const t = tierSizes(opts.workers);
    rows.push([
      `Makespan: ${opts.workers} workers ` +
        `(${Object.values(t).join('/')} structure/implementation/tests/integration/deployment), ` +
        `LLM log-normal median ${opts.medianMs} ms sigma ${opts.sigma}, concurrency ${opts.concurrency}`,
      '',
    ]);
    rows.push(['metric', 'value', 'target', '']);
    rows.push(['  per-worker cost alone (median, instant LLM)', `${Math.round(b.fixedCostMs)} ms`]);
    rows.push(['  critical path / work ÷ concurrency', `${sec(b.criticalPathMs)} / ${sec(b.workBoundMs)}`]);
    rows.push(['  ideal', sec(b.idealMs), `(${b.bound})`]);
    rows.push(['  Temporal sliding window makespan', sec(m.temporalMakespanMs!)]);
    rows.push([
      '  makespan ÷ ideal',
      `${m.ratioToIdeal!.toFixed(3)}×`,
      `≤ ${TARGET.makespanRatio.toFixed(2)}×`,
      verdict(m.ratioToIdeal! <= TARGET.makespanRatio),
    ]);
    rows.push([
      `  fixed batches of ${opts.batchSize} makespan (same steps)`,
      sec(m.fixedMakespanMs!),
      `(${(m.fixedRatioToIdeal ?? NaN).toFixed(2)}× ideal)`,
    ]);
    rows.push([
      '  Temporal faster than fixed batches by',
      `${(m.fasterThanFixed! * 100).toFixed(1)}%`,
      `≥ ${TARGET.fasterThanFixed * 100}%`,
      verdict(m.fasterThanFixed! >= TARGET.fasterThanFixed),
    ]);
    rows.push([
      '  orchestration overhead per worker',
      `${m.overheadPerWorkerMs!.toFixed(1)} ms`,
      '(makespan − ideal) ÷ workers',
    ]);
    rows.push([
      '  peak RSS worker / dev server / fixed-batch',
      `${mb(m.workerPeakRssMb)} / ${mb(m.serverPeakRssMb)} / ${mb(m.fixedPeakRssMb)}`,
    ]);
    if (m.split) {
      const x = m.split;
      rows.push(['  split workers (workspace queue in its own process):', '']);
      rows.push([
        '    makespan, ÷ ideal, faster than fixed',
        `${sec(x.temporalMakespanMs!)}, ${x.ratioToIdeal!.toFixed(3)}×, ${(x.fasterThanFixed! * 100).toFixed(1)}%`,
      ]);
      rows.push([
        '    peak RSS workflow+LLM worker / workspace worker',
        `${mb(x.workerPeakRssMb)} / ${mb(x.workspaceWorkerPeakRssMb)}`,
      ]);
    }
    rows.push(['', '']);
  }
  if (throughput) {
    const m = throughput.medians as Record<string, number> & { split?: Record<string, number> };
    const b = throughput.ideal as Ideal;
    rows.push([`Throughput: ${opts.instantWorkers} workers, instant LLM, concurrency ${opts.instantConcurrency}`, '']);
    rows.push(['metric', 'value', 'target', '']);
    rows.push(['  batch makespan', sec(m.makespanMs!), `(ideal ${sec(b.idealMs)})`]);
    // Targets exist for 1,000 and 10,000 workers; other sizes are reported without one.
    const targetMs = INSTANT_TARGET_MS[opts.instantWorkers];
    const target = (wallMs: number): [string, string] =>
      targetMs ? [`< ${sec(targetMs)}`, verdict(wallMs < targetMs)] : ['', ''];
    rows.push(['  start-batch end to end (validate, run, report)', sec(m.starterWallMs!), ...target(m.starterWallMs!)]);
    rows.push([
      '  workers per minute (batch / end to end)',
      `${int(m.workersPerMinute)} / ${int(m.workersPerMinuteEndToEnd)}`,
    ]);
    rows.push([
      '  orchestration overhead per worker',
      Number.isFinite(m.overheadPerWorkerMs) ? `${m.overheadPerWorkerMs!.toFixed(1)} ms` : 'n/a',
    ]);
    rows.push([
      '  CPU per worker: worker process / its child processes / dev server',
      cpuMs(m.workerCpuSPerWorker!, m.childCpuSPerWorker!, m.serverCpuSPerWorker!),
    ]);
    rows.push([
      "  machine busy during the batch (all processes, anyone's)",
      `${Math.round(m.machineUtilization! * 100)}%`,
      `${Math.round(m.machineCpuSPerWorker! * 1000)} ms CPU per worker`,
    ]);
    rows.push(['  peak RSS worker / dev server', `${mb(m.workerPeakRssMb)} / ${mb(m.serverPeakRssMb)}`]);
    const runs = throughput.runs as TemporalRun[];
    const sized = runs.map((r) => r.historySizes).filter((h): h is HistorySizes => !!h);
    if (sized.length > 0) {
      const med = (f: (h: HistorySizes) => number) => Math.round(median(sized.map(f)));
      rows.push([
        '  history per worker: bytes / events (median; p99)',
        `${(med((h) => h.bytes.median) / 1024).toFixed(1)} KB / ${med((h) => h.events.median)}; ` +
          `${(med((h) => h.bytes.p99) / 1024).toFixed(1)} KB / ${med((h) => h.events.p99)}`,
      ]);
    }
    const once = runs.filter((r) => r.countedOnce).length;
    rows.push([
      '  report counts every worker exactly once',
      `${once} of ${runs.length} run${runs.length > 1 ? 's' : ''}`,
      'all',
      verdict(once === runs.length),
    ]);
    // Both rates over the same window: the parent's first child started → its last run closed.
    rows.push([
      '  Wingman workers/s (first child start → batch closed)',
      fixed1(m.workersPerSecond),
      `(to the last worker's end: ${fixed1(m.workersPerSecondToLastWorker)}/s)`,
    ]);
    const engine = throughput.engine as { medians: Record<string, number> } | undefined;
    if (engine) {
      const e = engine.medians;
      rows.push(['  bare engine children/s (3 no-op activities each, same window)', fixed1(e.childrenPerSecond)]);
      rows.push([
        '  Wingman ÷ engine',
        pct(m.ofEngine),
        `≥ ${TARGET.ofEngine * 100}%`,
        verdict(Number.isFinite(m.ofEngine) ? m.ofEngine! >= TARGET.ofEngine : null),
      ]);
      rows.push([
        '  engine CPU per child: worker process / dev server',
        `${Math.round(e.workerCpuSPerChild! * 1000)} / ${Math.round(e.serverCpuSPerChild! * 1000)} ms`,
      ]);
    }
    for (const r of runs.filter((t) => t.shape === 'single' && t.rssAcrossRuns)) {
      const name = runs.length > 1 ? `${r.name}: ` : '';
      rows.push([`  ${name}${describeRss('worker', r.rssAcrossRuns!.worker)}`, '']);
      rows.push([`  ${name}${describeRss('dev server', r.rssAcrossRuns!.server)}`, '']);
    }
    if (m.split) {
      const x = m.split;
      rows.push(['  split workers (workspace queue in its own process):', '']);
      rows.push([
        '    start-batch end to end, workers per minute (batch)',
        `${sec(x.starterWallMs!)}, ${int(x.workersPerMinute)}`,
        ...target(x.starterWallMs!),
      ]);
      rows.push([
        '    CPU per worker: worker processes / their child processes / dev server',
        cpuMs(x.workerCpuSPerWorker!, x.childCpuSPerWorker!, x.serverCpuSPerWorker!),
      ]);
      rows.push([
        '    machine busy during the batch',
        `${Math.round(x.machineUtilization! * 100)}%`,
        `${Math.round(x.machineCpuSPerWorker! * 1000)} ms CPU per worker`,
      ]);
      rows.push([
        '    peak RSS workflow+LLM worker / workspace worker',
        `${mb(x.workerPeakRssMb)} / ${mb(x.workspaceWorkerPeakRssMb)}`,
      ]);
      rows.push(['    workers/s, ÷ engine', `${fixed1(x.workersPerSecond)}, ${pct(x.ofEngine)}`]);
    }
    rows.push(['', '']);
    const work = throughput.work as { wingman?: WorkPerWorker; engine?: WorkPerWorker };
    if (work.wingman || work.engine) {
      for (const line of engineWorkTable(work.wingman, work.engine)) rows.push([line, '']);
      rows.push(['', '']);
    }
  }
  if (lessons) {
    const [on, off] = [lessons.with, lessons.without];
    rows.push([
      `Lessons: ${lessons.workers} workers in ${opts.lessonPackages} packages ` +
        `(an early worker fails in each, ${opts.lessonLearners + 1} learn), same batch with and without lessons`,
      '',
    ]);
    rows.push(['metric', 'with lessons', 'without', '']);
    rows.push(['  regenerations (generations beyond the first)', String(on.regenerations), String(off.regenerations)]);
    rows.push([
      '  learners right the first time',
      `${on.firstTry} of ${lessons.learners}`,
      `${off.firstTry} of ${lessons.learners}`,
    ]);
    rows.push(['  LLM calls / passed workers', `${on.llmCalls} / ${on.passed}`, `${off.llmCalls} / ${off.passed}`]);
    rows.push(['  makespan', sec(on.makespanMs), sec(off.makespanMs)]);
    rows.push([
      '  regenerations saved by lessons',
      String(off.regenerations - on.regenerations),
      `${off.regenerations > 0 ? Math.round((1 - on.regenerations / off.regenerations) * 100) : 0}% fewer`,
    ]);
    for (const r of [on, off])
      if (r.error) rows.push([`PROBLEM in lessons ${r === on ? 'with' : 'without'}: ${r.error.slice(0, 900)}`, '']);
    rows.push(['', '']);
  }
  // Where the time went (from the histories of the last run of each kind).
  const lastOf = (runs: TemporalRun[], shape: Shape) => runs.filter((r) => r.shape === shape).at(-1);
  const profiled = [
    ...(makespan ? [lastOf(makespan.temporal as TemporalRun[], 'single')] : []),
    ...(throughput
      ? [lastOf(throughput.runs as TemporalRun[], 'single'), lastOf(throughput.runs as TemporalRun[], 'split')]
      : []),
  ].filter((r): r is TemporalRun => !!r?.children);
  for (const r of profiled) {
    const c = r.children!;
    const p = r.parent!;
    rows.push([`Profile of ${r.name} (${c.sampled} worker histories; medians, ms)`, '']);
    rows.push([
      '  worker wall: activity run / activity queue / wf-task queue / wf-task run',
      `${Math.round(c.wallMs.median)}: ${Math.round(c.split.activityRun)} / ${Math.round(c.split.activityQueue)} / ` +
        `${Math.round(c.split.workflowTaskQueue)} / ${Math.round(c.split.workflowTaskRun)}`,
    ]);
    for (const [type, a] of Object.entries(c.activities))
      rows.push([
        `    ${type}: queue / run`,
        `${Math.round(a.queueMs.median)} / ${Math.round(a.runMs.median)}`,
        `p90 ${Math.round(a.queueMs.p90)} / ${Math.round(a.runMs.p90)}`,
      ]);
    rows.push([
      `  worker wf tasks (${c.workflowTasks.perWorker} each): queue / run`,
      `${Math.round(c.workflowTasks.queueMs.median)} / ${Math.round(c.workflowTasks.runMs.median)}`,
      `p90 ${Math.round(c.workflowTasks.queueMs.p90)} / ${Math.round(c.workflowTasks.runMs.p90)}`,
    ]);
    rows.push([
      `  batch: ${p.runs} runs, ${p.workflowTasks.count} wf tasks: queue / run`,
      `${Math.round(p.workflowTasks.queueMs.median)} / ${Math.round(p.workflowTasks.runMs.median)}`,
      `p90 ${Math.round(p.workflowTasks.queueMs.p90)} / ${Math.round(p.workflowTasks.runMs.p90)}`,
    ]);
    rows.push([
      '  batch: worker done signal → batch task done with it',
      `${Math.round(p.reactionMs.median)}`,
      `p90 ${Math.round(p.reactionMs.p90)}`,
    ]);
    rows.push([
      '  batch: child start initiated → child started',
      `${Math.round(p.childStartMs.median)}`,
      `p90 ${Math.round(p.childStartMs.p90)}`,
    ]);
    for (const [i, d] of (r.runs ?? []).entries()) {
      if ((r.runs ?? []).length < 2) break;
      const fails =
        Object.entries(d.workflowTaskFailures)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ') || 'none';
      rows.push([
        `  batch run ${i + 1} (${d.status.toLowerCase()}): ${d.events} events, task failures: ${fails}`,
        `${sec(d.tailWithoutStartsMs)}`,
        'last child start → run end',
      ]);
    }
    for (const [label, prof] of [
      ['worker', r.cpuProfile],
      ['workspace worker', r.workspaceCpuProfile],
    ] as const) {
      if (!prof) continue;
      rows.push([
        `  ${label} main thread (--cpu-prof): busy ${sec(prof.busyMs)} of ${sec(prof.wallMs)}; top self time`,
        '',
      ]);
      for (const x of prof.topFunctions.slice(0, 6)) rows.push([`    ${x.name}`, `${x.pct}%`]);
    }
    rows.push(['', '']);
  }
  const failed = [
    ...((makespan?.temporal as TemporalRun[] | undefined) ?? []),
    ...((throughput?.runs as TemporalRun[] | undefined) ?? []),
    ...((throughput?.engine as { runs: EngineRun[] } | undefined)?.runs ?? []),
  ].filter((r) => r.error);
  for (const r of failed) rows.push([`PROBLEM in ${r.name}: ${r.error!.slice(0, 900)}`, '']);
  if (failed.length) rows.push(['', '']);
  rows.push([`JSON: ${path.relative(process.cwd(), out)} (total ${sec(Date.now() - started)})`, '']);
  console.log(table(rows));
}

interface LessonsSide {
  regenerations: number;
  firstTry: number;
  llmCalls: number;
  passed: number;
  makespanMs: number;
  counts: Report['counts'] | null;
  error?: string;
}
interface LessonsResult {
  workers: number;
  learners: number;
  with: LessonsSide;
  without: LessonsSide;
}

/**
 * The lessons workload twice, side by side: lessons on, then off (WINGMAN_LESSONS=off), each on a fresh server and
 * state.
 */
async function lessonsRuns(): Promise<LessonsResult> {
  const workload = lessonsWorkload({ packages: opts.lessonPackages, learners: opts.lessonLearners });
  const learners = workload.filter((w) => !w.teacher).map((w) => w.id);
  const side = async (on: boolean): Promise<LessonsSide> => {
    useWorkload([]);
    lessonWorkers = new Map(workload.map((w) => [w.id, w]));
    llm.reset();
    let report: Report | null = null;
    log(`lessons ${on ? 'on' : 'off'}: ${workload.length} workers`);
    const run = await temporalRun(`lessons-${on ? 'on' : 'off'}`, workload, opts.concurrency, {
      write: (dir, ws) => writeLessonsWorkload(dir, ws, workload),
      env: { WINGMAN_LESSONS: on ? 'on' : 'off' },
      // The early workers fail by design: no abort for it.
      args: ['--max-failed-rate', '1', '--no-suite'],
      onReport: (r) => (report = r),
    });
    const r = report as Report | null;
    const byId = new Map((r?.workers ?? []).map((w) => [w.id, w]));
    return {
      regenerations: (r?.workers ?? []).reduce((n, w) => n + Math.max(0, w.attempts - 1), 0),
      firstTry: learners.filter((id) => byId.get(id)?.outcome === 'passed' && byId.get(id)?.attempts === 1).length,
      llmCalls: llm.calls.length,
      passed: r?.counts.passed ?? 0,
      makespanMs: run.makespanMs,
      counts: r?.counts ?? null,
      ...(run.error ? { error: run.error } : {}),
    };
  };
  const withLessons = await side(true);
  const without = await side(false);
  return { workers: workload.length, learners: learners.length, with: withLessons, without };
}

let stopping = false;
async function cleanup(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await stopAll();
  await llm?.close();
  if (!opts.keep) rmSync(root, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping the processes started`);
    void cleanup().finally(() => process.exit(130));
  });
}
main().then(
  async () => {
    await cleanup();
    process.exit(0);
  },
  async (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await cleanup();
    process.exit(1);
  },
);

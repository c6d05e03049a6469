// The start-batch command line, validated.
import { parseArgs } from 'node:util';
import { z } from 'zod';

export class UsageError extends Error {}

const StartArgs = z.object({
  workers: z.string().min(1),
  workspace: z.string().min(1),
  pythonRoot: z.string().min(1),
  batchId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" and "-" only')
    .optional(),
  concurrency: z.coerce.number().int().min(1).max(2000),
  only: z.array(z.string()).optional(),
  report: z.string().optional(),
  dryRun: z.boolean(),
  noWorker: z.boolean(),
  budget: z.coerce.number().nonnegative(),
  minSample: z.coerce.number().int().nonnegative(),
  maxGuideRate: z.coerce.number().min(0).max(1),
  maxFailedRate: z.coerce.number().min(0).max(1),
  maxTimeoutRate: z.coerce.number().min(0).max(1),
  maxErrorRate: z.coerce.number().min(0).max(1),
  json: z.boolean(),
  cache: z.boolean(),
  replayFrom: z.string().optional(),
  createNamespace: z.boolean(),
  /** The whole suite after the last worker (default `pytest`), or none with --no-suite. */
  suite: z.string().min(1).optional(),
  noSuite: z.boolean(),
  verbose: z.boolean(),
  resumeOthers: z.boolean(),
});
export type StartArgs = z.infer<typeof StartArgs>;

export const USAGE = `usage: npm run start-batch -- --workers DIR --workspace DIR --python-root REL
       [--batch-id ID] [--concurrency N] [--only WORKER_001,WORKER_013] [--report FILE] [--dry-run]
       [--budget USD] [--min-sample N] [--max-guide-rate R] [--max-failed-rate R] [--max-timeout-rate R]
       [--max-error-rate R] [--cache] [--replay-from BATCH_ID] [--no-worker] [--json] [--verbose] [--resume-others]
       [--create-namespace]
       [--suite CMD | --no-suite]`;

export function parseStartArgs(argv: string[]): StartArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        workers: { type: 'string' },
        workspace: { type: 'string' },
        'python-root': { type: 'string' },
        'batch-id': { type: 'string' },
        concurrency: { type: 'string', default: '50' },
        only: { type: 'string' },
        report: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        'no-worker': { type: 'boolean', default: false },
        budget: { type: 'string', default: '15' },
        'min-sample': { type: 'string', default: '10' },
        'max-guide-rate': { type: 'string', default: '0.10' },
        'max-failed-rate': { type: 'string', default: '0.20' },
        'max-timeout-rate': { type: 'string', default: '0.30' },
        'max-error-rate': { type: 'string', default: '0.20' },
        json: { type: 'boolean', default: false },
        cache: { type: 'boolean', default: false },
        'replay-from': { type: 'string' },
        'create-namespace': { type: 'boolean', default: false },
        suite: { type: 'string' },
        'no-suite': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        'resume-others': { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const parsed = StartArgs.safeParse({
    workers: values.workers,
    workspace: values.workspace,
    pythonRoot: values['python-root'],
    batchId: values['batch-id'],
    concurrency: values.concurrency,
    only:
      typeof values.only === 'string'
        ? values.only
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    report: values.report,
    dryRun: values['dry-run'],
    noWorker: values['no-worker'],
    budget: values.budget,
    minSample: values['min-sample'],
    maxGuideRate: values['max-guide-rate'],
    maxFailedRate: values['max-failed-rate'],
    maxTimeoutRate: values['max-timeout-rate'],
    maxErrorRate: values['max-error-rate'],
    json: values.json,
    cache: values.cache,
    replayFrom: values['replay-from'],
    createNamespace: values['create-namespace'],
    suite: values.suite,
    noSuite: values['no-suite'],
    verbose: values.verbose,
    resumeOthers: values['resume-others'],
  });
  if (!parsed.success) {
    const flag = (p: PropertyKey | undefined) => `--${String(p).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const problems = parsed.error.issues.map((i) => `${flag(i.path[0])}: ${i.message}`).join('\n');
    throw new UsageError(`${problems}\n${USAGE}`);
  }
  return parsed.data;
}

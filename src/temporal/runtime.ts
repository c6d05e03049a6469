// The Temporal SDK runtime of a process (worker or start-batch), installed once: a logger and,
// when WINGMAN_METRICS_PORT is set (or a port is passed), a Prometheus endpoint on
// 0.0.0.0:<port>/metrics serving the SDK's metrics (`temporal_…`) and Wingman's (src/temporal/metrics.ts).
// The logger takes everything the SDK says (its own, the worker's, activities' and, forwarded, the
// native core's) to stderr, or to a log file so that start-batch's terminal stays readable.
import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, Runtime, type LogEntry, type RuntimeOptions } from '@temporalio/worker';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import type { Config } from '../config.js';
import { HISTOGRAM_BUCKETS } from './metrics.js';

// One process runs a worker per task queue, each with only workflows or only activities: the SDK
// warns about that for every one of them, which is expected here and buries real warnings.
const EXPECTED = /^No (activities|workflows) registered, not polling/;

export function formatLogEntry(entry: LogEntry): string {
  const meta =
    entry.meta && Object.keys(entry.meta).length ? ` ${inspect(entry.meta, { depth: 4, breakLength: Infinity })}` : '';
  const at = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  return `${at} [${entry.level}] ${entry.message}${meta}`;
}

export interface LogOptions {
  /** Append log lines to this file instead of stderr. */
  file?: string;
  /** Sees every entry the logger keeps (start-batch turns a few into one-line notes). */
  observe?: (entry: LogEntry) => void;
  /** Signals on which the SDK shuts workers down by itself (default: the SDK's). start-batch handles its own. */
  shutdownSignals?: NodeJS.Signals[];
}

function logFunction(opts: LogOptions): (entry: LogEntry) => void {
  if (opts.file) mkdirSync(path.dirname(opts.file), { recursive: true });
  return (entry) => {
    if (EXPECTED.test(entry.message)) return;
    opts.observe?.(entry);
    const line = formatLogEntry(entry);
    // Synchronous, so the last lines before a crash or an exit are in the file.
    if (opts.file) appendFileSync(opts.file, `${line}\n`);
    else console.error(line);
  };
}

let installed: { runtime: Runtime; metricsPort: number | undefined } | undefined;

/** The runtime options installRuntime uses (exported for tests and for a reader). */
export function runtimeOptions(metricsPort: number | undefined, log: LogOptions = {}): RuntimeOptions {
  // A file has room for INFO (activity logs, worker state); the terminal gets warnings only.
  const logger = new DefaultLogger(log.file ? 'INFO' : 'WARN', logFunction(log));
  // The native core prints its own logs (a warning per failed poll during an outage) unless forwarded.
  const base: RuntimeOptions = {
    logger,
    ...(log.shutdownSignals ? { shutdownSignals: log.shutdownSignals } : {}),
  };
  const logging = { forward: {}, filter: { core: 'WARN' as const, other: 'ERROR' as const } };
  if (metricsPort === undefined) return { ...base, telemetryOptions: { logging } };
  return {
    ...base,
    telemetryOptions: {
      logging,
      metrics: {
        prometheus: {
          bindAddress: `0.0.0.0:${metricsPort}`,
          histogramBucketOverrides: HISTOGRAM_BUCKETS,
        },
      },
    },
  };
}

/**
 * Installs the process's Temporal runtime. Call it before creating any connection or worker (the
 * SDK otherwise installs a default one, without metrics). Calling it again returns the same
 * runtime; asking for metrics once a runtime without them (or on another port) is installed throws.
 */
export function installRuntime(
  config: Config & { WINGMAN_METRICS_PORT?: number },
  opts: { metricsPort?: number; log?: LogOptions } = {},
): Runtime {
  const metricsPort = opts.metricsPort ?? config.WINGMAN_METRICS_PORT;
  if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort > 0 && metricsPort <= 65535)) {
    throw new Error(`WINGMAN_METRICS_PORT: not a port: ${metricsPort}`);
  }
  if (installed) {
    if (metricsPort !== undefined && metricsPort !== installed.metricsPort) {
      const current = installed.metricsPort ? `with metrics on port ${installed.metricsPort}` : 'without metrics';
      throw new Error(
        `the Temporal runtime is already installed ${current}: cannot serve metrics on port ${metricsPort}`,
      );
    }
    return installed.runtime;
  }
  let runtime: Runtime;
  try {
    runtime = Runtime.install(runtimeOptions(metricsPort, opts.log));
  } catch (err) {
    // Installed elsewhere (a test setup, or a connection made first): use that one if nothing more is asked.
    if (err instanceof IllegalStateError && metricsPort === undefined) return Runtime.instance();
    if (err instanceof IllegalStateError)
      throw new Error(`cannot serve metrics on port ${metricsPort}: ${err.message}`, { cause: err });
    if (metricsPort !== undefined)
      throw new Error(`cannot start the metrics endpoint on 0.0.0.0:${metricsPort}: ${(err as Error).message}`, {
        cause: err,
      });
    throw err;
  }
  installed = { runtime, metricsPort };
  return runtime;
}

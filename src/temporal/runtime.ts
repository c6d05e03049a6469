// The Temporal SDK runtime of a process (worker or start-batch), installed once: a WARN logger and,
// when WINGMAN_METRICS_PORT is set (or a port is passed), a Prometheus endpoint on
// 0.0.0.0:<port>/metrics serving the SDK's metrics (`temporal_…`) and Wingman's (src/temporal/metrics.ts).
import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, Runtime, type LogEntry, type RuntimeOptions } from '@temporalio/worker';
import type { Config } from '../config.js';
import { HISTOGRAM_BUCKETS } from './metrics.js';

// One process runs a worker per task queue, each with only workflows or only activities: the SDK
// warns about that for every one of them, which is expected here and buries real warnings.
const EXPECTED = /^No (activities|workflows) registered, not polling/;

function quietExpectedWarnings(entry: LogEntry): void {
  if (EXPECTED.test(entry.message)) return;
  const meta = entry.meta && Object.keys(entry.meta).length ? entry.meta : undefined;
  const line = `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}`;
  if (meta) console.error(line, meta);
  else console.error(line);
}

let installed: { runtime: Runtime; metricsPort: number | undefined } | undefined;

/** The runtime options installRuntime uses (exported for tests and for a reader). */
export function runtimeOptions(metricsPort: number | undefined): RuntimeOptions {
  const logger = new DefaultLogger('WARN', quietExpectedWarnings);
  if (metricsPort === undefined) return { logger };
  return {
    logger,
    telemetryOptions: {
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
export function installRuntime(config: Config & { WINGMAN_METRICS_PORT?: number }, opts: { metricsPort?: number } = {}): Runtime {
  const metricsPort = opts.metricsPort ?? config.WINGMAN_METRICS_PORT;
  if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort > 0 && metricsPort <= 65535)) {
    throw new Error(`WINGMAN_METRICS_PORT: not a port: ${metricsPort}`);
  }
  if (installed) {
    if (metricsPort !== undefined && metricsPort !== installed.metricsPort) {
      throw new Error(`the Temporal runtime is already installed ${installed.metricsPort ? `with metrics on port ${installed.metricsPort}` : 'without metrics'}: cannot serve metrics on port ${metricsPort}`);
    }
    return installed.runtime;
  }
  let runtime: Runtime;
  try {
    runtime = Runtime.install(runtimeOptions(metricsPort));
  } catch (err) {
    // Installed elsewhere (a test setup, or a connection made first): use that one if nothing more is asked.
    if (err instanceof IllegalStateError && metricsPort === undefined) return Runtime.instance();
    if (err instanceof IllegalStateError) throw new Error(`cannot serve metrics on port ${metricsPort}: ${err.message}`);
    if (metricsPort !== undefined) throw new Error(`cannot start the metrics endpoint on 0.0.0.0:${metricsPort}: ${(err as Error).message}`);
    throw err;
  }
  installed = { runtime, metricsPort };
  return runtime;
}

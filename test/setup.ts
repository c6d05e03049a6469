// Keeps test output readable: the SDK logs every worker state change at INFO.
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Already installed in this module registry.
}

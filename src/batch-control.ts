// npm run batch -- status|pause|resume|abort|concurrency ID [N|REASON] [--json]
// Steers a running batch through its query, signals and update.
import { WorkflowNotFoundError } from '@temporalio/client';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { formatProgress } from './cli/follow.js';
import { ConfigError, readConfig } from './config.js';
import { connectClient } from './temporal.js';
import { abortSignal, batchWorkflowId, pauseSignal, progressQuery, resumeSignal, setConcurrencyUpdate } from './workflows/definitions.js';

const USAGE = 'usage: npm run batch -- status|pause|resume|abort|concurrency BATCH_ID [N | REASON] [--json]';

export async function batchControl(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  const [command, batchId, extra] = positionals;
  if (!command || !batchId || !['status', 'pause', 'resume', 'abort', 'concurrency'].includes(command)) {
    console.error(USAGE);
    return 3;
  }
  let c;
  try {
    c = readConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 3;
    }
    throw err;
  }
  const client = await connectClient(c);
  const handle = client.workflow.getHandle(batchWorkflowId(batchId));
  try {
    if (command === 'pause') await handle.signal(pauseSignal);
    if (command === 'resume') await handle.signal(resumeSignal);
    if (command === 'abort') await handle.signal(abortSignal, extra);
    if (command === 'concurrency') {
      const n = Number(extra);
      if (!Number.isInteger(n) || n < 1) {
        console.error(`concurrency must be a whole number, got ${extra ?? 'nothing'}\n${USAGE}`);
        return 3;
      }
      await handle.executeUpdate(setConcurrencyUpdate, { args: [n] });
    }
    const progress = await handle.query(progressQuery);
    console.log(values.json ? JSON.stringify(progress) : formatProgress(progress));
    return 0;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      console.error(`no batch ${batchId} (workflow ${batchWorkflowId(batchId)}) in namespace ${c.TEMPORAL_NAMESPACE}`);
      return 3;
    }
    throw err;
  } finally {
    await client.connection.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  batchControl(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(4);
    },
  );
}

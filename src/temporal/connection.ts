// Connecting to Temporal, the same way for the starter, the worker and the batch CLI.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config.js';
import { dataConverter } from './codec.js';

function tlsOption(c: Config): boolean | undefined {
  if (c.TEMPORAL_TLS) return c.TEMPORAL_TLS === 'true';
  // Temporal Cloud with an API key always speaks TLS.
  return c.TEMPORAL_API_KEY ? true : undefined;
}

export async function connectClient(c: Config, address = c.TEMPORAL_ADDRESS): Promise<Client> {
  const connection = await Connection.connect({
    address,
    tls: tlsOption(c),
    apiKey: c.TEMPORAL_API_KEY,
    connectTimeout: '3s',
  });
  return new Client({ connection, namespace: c.TEMPORAL_NAMESPACE, dataConverter });
}

export async function connectWorker(c: Config, address = c.TEMPORAL_ADDRESS): Promise<NativeConnection> {
  return NativeConnection.connect({ address, tls: tlsOption(c), apiKey: c.TEMPORAL_API_KEY });
}

/** Whether a Temporal frontend answers at `address` (used to decide whether to start a dev server). */
export async function temporalAnswers(c: Config, address = c.TEMPORAL_ADDRESS): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({
      address,
      tls: tlsOption(c),
      apiKey: c.TEMPORAL_API_KEY,
      connectTimeout: '2s',
    });
    await connection.healthService.check({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

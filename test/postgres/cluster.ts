// The cluster of scripts/temporal-postgres.sh, as the postgres tier sees it: its address, a
// client, and the script's own commands to crash and restart its Temporal server.
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import path from 'node:path';
import { repoRoot } from '../support/cli.js';

const script = path.join(repoRoot, 'scripts', 'temporal-postgres.sh');

export async function clusterAddress(): Promise<string> {
  const r = await execa(script, ['env']);
  const address = /^TEMPORAL_ADDRESS=(\S+)$/m.exec(r.stdout)?.[1];
  if (!address) throw new Error(`scripts/temporal-postgres.sh env printed no address:\n${r.stdout}`);
  return address;
}

/** A client on the cluster, or an error saying how to start it. */
export async function connectCluster(address: string, namespace: string): Promise<Client> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: '3s' });
    await connection.healthService.check({});
    return new Client({ connection, namespace });
  } catch (err) {
    throw new Error(
      `No Temporal server on PostgreSQL answers at ${address} (${(err as Error).message}): ` +
        'run scripts/temporal-postgres.sh up',
      { cause: err },
    );
  }
}

/** SIGKILLs the Temporal server (PostgreSQL keeps running). */
export async function killServer(): Promise<void> {
  await execa(script, ['kill-server']);
}

/** Starts the server again on the same databases (the script's `up` is idempotent). */
export async function restartServer(): Promise<void> {
  await execa(script, ['up']);
}

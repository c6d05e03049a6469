// The namespace a batch runs in. A freshly set-up cluster has only `temporal-system`, so the
// namespace may not exist yet: it is created when the user asked for it (--create-namespace) or
// when it is `default` on a local server (a developer's own cluster), and otherwise refused in
// two lines that name it and the command that creates it.
import type { Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { GRPC, grpcCode } from './errors.js';

/** As long as the compose stack's temporal-namespace service keeps them (NAMESPACE_RETENTION). */
const RETENTION_MS = 7 * 24 * 3600 * 1000;

export type NamespaceState = { kind: 'exists' } | { kind: 'created' } | { kind: 'missing'; message: string };

export function isLocalAddress(address: string): boolean {
  const host = address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '127.0.0.1' || host === '::1';
}

/** Whether start-batch may create a missing namespace without being asked to. */
export function mayCreateByDefault(namespace: string, address: string): boolean {
  return namespace === 'default' && isLocalAddress(address);
}

export async function ensureNamespace(
  client: Client,
  opts: { namespace: string; address: string; create: boolean },
): Promise<NamespaceState> {
  const service = client.connection.workflowService;
  try {
    await service.describeNamespace({ namespace: opts.namespace });
    return { kind: 'exists' };
  } catch (err) {
    if (grpcCode(err) !== GRPC.NOT_FOUND) throw err;
  }
  if (!opts.create) {
    return {
      kind: 'missing',
      message:
        `Temporal namespace "${opts.namespace}" does not exist at ${opts.address}.\n` +
        `Create it: add --create-namespace to this command, or run ` +
        `\`temporal operator namespace create --namespace ${opts.namespace} --address ${opts.address}\`.`,
    };
  }
  try {
    await service.registerNamespace({
      namespace: opts.namespace,
      workflowExecutionRetentionPeriod: msToTs(RETENTION_MS),
      description: 'created by wingman start-batch',
    });
  } catch (err) {
    // Another start-batch created it in the meantime: that is what we wanted.
    if (grpcCode(err) !== GRPC.ALREADY_EXISTS) throw err;
  }
  console.log(`Created Temporal namespace "${opts.namespace}" at ${opts.address} (retention 7 days)`);
  return { kind: 'created' };
}

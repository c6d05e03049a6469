// Temporal's errors as a person reads them: one line with the server's own words, the address
// and the namespace, instead of a gRPC stack trace (which says nothing more to a user).
import { isGrpcServiceError, ServiceError } from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';

/** The gRPC status codes this project tells apart (grpc-js's `status` enum, not a direct dependency). */
export const GRPC = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The gRPC status of an error or of the error it wraps (the client wraps them in ServiceError). */
export function grpcCode(err: unknown): number | undefined {
  if (isGrpcServiceError(err)) return err.code;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause && cause !== err ? grpcCode(cause) : undefined;
}

function serverWords(err: unknown): string | undefined {
  if (isGrpcServiceError(err)) return err.details || err.message;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause && cause !== err ? serverWords(cause) : undefined;
}

/**
 * One line for an error that came from Temporal (the server answered with an error, or could not
 * be reached), undefined for anything else: a bug of ours keeps its stack trace.
 */
export function temporalErrorLine(err: unknown, where: { address: string; namespace: string }): string | undefined {
  const at = `Temporal at ${where.address} (namespace ${where.namespace})`;
  if (err instanceof NamespaceNotFoundError) return `${at}: namespace ${err.namespace} does not exist`;
  const words = serverWords(err);
  if (words !== undefined) {
    const what = err instanceof ServiceError && err.message !== words ? `${err.message}: ` : '';
    return `${at}: ${what}${words.split('\n')[0]}`;
  }
  // The worker's native connection reports transport and namespace failures as plain errors.
  const name = (err as Error | null)?.name;
  if (name === 'TransportError' || name === 'ServiceError') return `${at}: ${(err as Error).message.split('\n')[0]}`;
  return undefined;
}

// Which missing namespace start-batch creates without being asked, and how Temporal's errors read.
import { describe, expect, test } from '@jest/globals';
import { ServiceError } from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';
import { isLocalAddress, mayCreateByDefault } from '../../../src/temporal/namespace.js';
import { temporalErrorLine, grpcCode } from '../../../src/temporal/errors.js';
import { attributeNotServedYet, whileServerCatchesUp } from '../../../src/temporal/search-attribute-setup.js';

/** What @grpc/grpc-js throws: an Error with a numeric code, the server's words and metadata. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

describe('creating a missing namespace by default', () => {
  test('only `default`, and only on this machine', () => {
    expect(mayCreateByDefault('default', '127.0.0.1:7233')).toBe(true);
    expect(mayCreateByDefault('default', 'localhost:27233')).toBe(true);
    expect(mayCreateByDefault('default', '[::1]:7233')).toBe(true);
    expect(mayCreateByDefault('wingman', '127.0.0.1:7233')).toBe(false);
    expect(mayCreateByDefault('default', 'temporal.internal:7233')).toBe(false);
    expect(mayCreateByDefault('default', 'wingman.a1b2c.tmprl.cloud:7233')).toBe(false);
    expect(isLocalAddress('10.0.0.5:7233')).toBe(false);
  });
});

describe('temporalErrorLine', () => {
  const where = { address: 'temporal.internal:7233', namespace: 'prod' };

  test("a server error is one line in the server's words, naming the address and the namespace", () => {
    const err = new ServiceError('Failed to start Workflow', {
      cause: grpcError(7, 'Request unauthorized.\nmore detail'),
    });
    expect(temporalErrorLine(err, where)).toBe(
      'Temporal at temporal.internal:7233 (namespace prod): Failed to start Workflow: Request unauthorized.',
    );
    expect(temporalErrorLine(grpcError(3, 'Namespace length exceeds limit.'), where)).toBe(
      'Temporal at temporal.internal:7233 (namespace prod): Namespace length exceeds limit.',
    );
    expect(temporalErrorLine(new NamespaceNotFoundError('prod'), where)).toBe(
      'Temporal at temporal.internal:7233 (namespace prod): namespace prod does not exist',
    );
  });

  test("anything else is not Temporal's: it keeps its stack trace", () => {
    expect(temporalErrorLine(new TypeError('x is undefined'), where)).toBeUndefined();
    expect(temporalErrorLine('a string', where)).toBeUndefined();
  });

  test("grpcCode looks through the client's wrapper", () => {
    expect(grpcCode(new ServiceError('wrapped', { cause: grpcError(5, 'not found') }))).toBe(5);
    expect(grpcCode(new Error('plain'))).toBeUndefined();
  });
});

describe('whileServerCatchesUp', () => {
  const noSleep = { timeoutMs: 10_000, sleep: async () => undefined };

  test('retries while the server has not caught up, with growing delays, then returns', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await whileServerCatchesUp(
      async () => {
        calls++;
        if (calls < 4)
          throw new ServiceError('Failed to start Workflow', {
            cause: grpcError(3, 'Namespace x has no mapping defined for search attribute WingmanBatchId'),
          });
        return 'started';
      },
      attributeNotServedYet,
      { timeoutMs: 10_000, sleep: async (ms) => void delays.push(ms) },
    );
    expect(result).toBe('started');
    expect(delays).toEqual([100, 200, 400]);
  });

  test('any other error is thrown at once', async () => {
    let calls = 0;
    const bad = grpcError(3, 'WorkflowId is not set on request.');
    await expect(
      whileServerCatchesUp(
        async () => {
          calls++;
          throw bad;
        },
        attributeNotServedYet,
        noSleep,
      ),
    ).rejects.toBe(bad);
    expect(calls).toBe(1);
  });

  test("gives up when the patience runs out, with the server's last error", async () => {
    const err = grpcError(3, 'invalid query: invalid search attribute: WingmanBatchId');
    await expect(
      whileServerCatchesUp(
        async () => {
          throw err;
        },
        attributeNotServedYet,
        { timeoutMs: 0, sleep: async () => undefined },
      ),
    ).rejects.toBe(err);
  });
});

// The failure mapping on its own: header parsing, status table, client error shapes, redaction.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  InternalServerError,
  RateLimitError,
} from 'openai';
import { errors as undiciErrors } from 'undici';
import {
  LLM_FAILURE_TYPES,
  MAX_OUTPUT_BYTES,
  MAX_RETRY_AFTER_MS,
  checkOutput,
  httpFailure,
  redact,
  retryAfterMs,
  toLlmFailure,
} from '../../../../src/activities/llm/errors.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('retryAfterMs', () => {
  test('seconds, fractional seconds, an HTTP date, retry-after-ms first', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), NOW)).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': '0.5' }), NOW)).toBe(500);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(NOW + 7000).toUTCString() }), NOW)).toBe(7000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '1234', 'retry-after': '9' }), NOW)).toBe(1234);
  });
  test('undici header records, arrays included', () => {
    expect(retryAfterMs({ 'retry-after': '3' }, NOW)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': ['4', '5'] }, NOW)).toBe(4000);
  });
  test('absent, zero, past, garbage: undefined (the policy decides); huge: clamped', () => {
    expect(retryAfterMs(undefined, NOW)).toBeUndefined();
    expect(retryAfterMs(new Headers(), NOW)).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': '0' }), NOW)).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(NOW - 5000).toUTCString() }), NOW)).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
    expect(retryAfterMs(new Headers({ 'retry-after': '86400' }), NOW)).toBe(MAX_RETRY_AFTER_MS);
  });
});

describe('httpFailure', () => {
  test.each([
    [429, '', LLM_FAILURE_TYPES.rateLimited, false],
    [429, 'insufficient_quota', LLM_FAILURE_TYPES.rejected, true],
    [408, '', LLM_FAILURE_TYPES.timeout, true],
    [409, '', LLM_FAILURE_TYPES.unavailable, false],
    [500, '', LLM_FAILURE_TYPES.unavailable, false],
    [502, '', LLM_FAILURE_TYPES.unavailable, false],
    [503, '', LLM_FAILURE_TYPES.unavailable, false],
    [500, 'model "llama3" not found, try pulling it first', LLM_FAILURE_TYPES.rejected, true],
    [400, '', LLM_FAILURE_TYPES.rejected, true],
    [401, '', LLM_FAILURE_TYPES.rejected, true],
    [403, '', LLM_FAILURE_TYPES.rejected, true],
    [404, '', LLM_FAILURE_TYPES.rejected, true],
    [422, '', LLM_FAILURE_TYPES.rejected, true],
  ])('%i %s -> %s', (status, detail, type, nonRetryable) => {
    const f = httpFailure('openai', status, new Headers({ 'retry-after': '2' }), detail);
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(nonRetryable);
    expect(f.nextRetryDelay).toBe(type === LLM_FAILURE_TYPES.rateLimited ? 2000 : undefined);
    expect(f.details).toEqual([{ provider: 'openai', status }]);
  });
});

describe('toLlmFailure', () => {
  const idle = { timedOut: () => false, cancellation: () => undefined };

  test('openai SDK errors', () => {
    const rate = new RateLimitError(
      429,
      { message: 'slow down', type: 'requests' },
      undefined,
      new Headers({ 'retry-after': '2' }),
    );
    expect(toLlmFailure(rate, 'openai', idle)).toMatchObject({
      type: LLM_FAILURE_TYPES.rateLimited,
      nextRetryDelay: 2000,
    });
    const server = new InternalServerError(500, { message: 'oops' }, undefined, new Headers());
    expect(toLlmFailure(server, 'openai', idle)).toMatchObject({ type: LLM_FAILURE_TYPES.unavailable });
    expect(toLlmFailure(new APIConnectionTimeoutError(), 'openai', idle)).toMatchObject({
      type: LLM_FAILURE_TYPES.timeout,
    });
    const refused = new APIConnectionError({
      cause: Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      }),
    });
    expect(toLlmFailure(refused, 'openai', idle)).toMatchObject({
      type: LLM_FAILURE_TYPES.unavailable,
      nonRetryable: false,
    });
  });

  test('undici and node errors', () => {
    expect(toLlmFailure(new undiciErrors.HeadersTimeoutError(), 'ollama', idle)).toMatchObject({
      type: LLM_FAILURE_TYPES.timeout,
    });
    expect(toLlmFailure(new undiciErrors.BodyTimeoutError(), 'ollama', idle)).toMatchObject({
      type: LLM_FAILURE_TYPES.timeout,
    });
    expect(toLlmFailure(new undiciErrors.SocketError('other side closed'), 'ollama', idle)).toMatchObject({
      type: LLM_FAILURE_TYPES.unavailable,
    });
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE']) {
      expect(toLlmFailure(Object.assign(new Error(code), { code }), 'processor', idle)).toMatchObject({
        type: LLM_FAILURE_TYPES.unavailable,
        nonRetryable: false,
      });
    }
  });

  test('our own timer wins over whatever the client threw; a cancellation passes through untouched', () => {
    const timedOut = { timedOut: () => true, cancellation: () => undefined };
    expect(toLlmFailure(new APIUserAbortError(), 'openai', timedOut)).toMatchObject({
      type: LLM_FAILURE_TYPES.timeout,
    });
    const cancel = new CancelledFailure('CANCELLED');
    expect(toLlmFailure(new APIUserAbortError(), 'openai', { timedOut: () => false, cancellation: () => cancel })).toBe(
      cancel,
    );
  });

  test('an ApplicationFailure is returned as is', () => {
    const f = ApplicationFailure.create({ type: LLM_FAILURE_TYPES.badOutput, nonRetryable: true });
    expect(toLlmFailure(f, 'openai', idle)).toBe(f);
  });

  test('the key is scrubbed from every message', () => {
    const key = 'my-custom-secret-key-42';
    const err = new RateLimitError(
      429,
      { message: `key ${key} and sk-proj-AbCdEf123456 and Bearer ${key}` },
      undefined,
      new Headers(),
    );
    const f = toLlmFailure(err, 'openai', idle, [key]);
    expect(f.message).not.toContain(key);
    expect(f.message).not.toContain('sk-proj-AbCdEf123456');
  });
});

test('redact', () => {
  expect(redact('Authorization: Bearer abc.def', [])).toBe('Authorization: Bearer [redacted]');
  expect(redact('Incorrect API key provided: sk-test-1234567890.', [])).toBe(
    'Incorrect API key provided: sk-[redacted].',
  );
  expect(redact('token=hunter2-secret', ['hunter2-secret'])).toBe('token=[redacted]');
});

function thrownBy(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

test('checkOutput', () => {
  expect(() => checkOutput('openai', '```python\nx = 1\n```')).not.toThrow();
  expect(() => checkOutput('openai', '```python\nx = 1\n```', undefined, 'stop')).not.toThrow();
  for (const bad of ['', ' \n\t', 'é'.repeat(MAX_OUTPUT_BYTES / 2 + 1)]) {
    expect(thrownBy(() => checkOutput('openai', bad))).toMatchObject({
      type: LLM_FAILURE_TYPES.badOutput,
      nonRetryable: true,
    });
  }
});

test('an unusable answer that was billed carries { costUsd, tokens } in details[0] (contract 2)', () => {
  const billed = { costUsd: 0.0123, tokens: { prompt: 1000, completion: 4000 } };
  const cases: Array<[string, string | null, string | null, RegExp]> = [
    ['', 'stop', null, /empty completion/],
    ['```python\ndef f(', 'length', null, /cut off at the max tokens limit/],
    ['', 'stop', 'I can not help with that.', /refused: I can not help/],
  ];
  for (const [text, finish, refusal, why] of cases) {
    const f = thrownBy(() => checkOutput('openai', text, billed, finish, refusal)) as ApplicationFailure;
    expect(f).toMatchObject({ type: LLM_FAILURE_TYPES.badOutput, nonRetryable: true });
    expect(f.message).toMatch(why);
    expect(f.details).toEqual([{ provider: 'openai', status: null, ...billed }]);
  }
});

test('a timeout is never retried on the same provider; 5xx and 429 are', () => {
  const idle = { timedOut: () => false, cancellation: () => undefined };
  const timedOut = { timedOut: () => true, cancellation: () => undefined };
  expect(toLlmFailure(new APIUserAbortError(), 'openai', timedOut)).toMatchObject({
    type: LLM_FAILURE_TYPES.timeout,
    nonRetryable: true,
  });
  expect(toLlmFailure(new undiciErrors.HeadersTimeoutError(), 'ollama', idle)).toMatchObject({
    type: LLM_FAILURE_TYPES.timeout,
    nonRetryable: true,
  });
  expect(toLlmFailure(new APIConnectionTimeoutError(), 'openai', idle)).toMatchObject({
    type: LLM_FAILURE_TYPES.timeout,
    nonRetryable: true,
  });
  expect(httpFailure('openai', 503, null, '')).toMatchObject({
    type: LLM_FAILURE_TYPES.unavailable,
    nonRetryable: false,
  });
  expect(httpFailure('openai', 429, new Headers({ 'retry-after': '3' }), '')).toMatchObject({
    type: LLM_FAILURE_TYPES.rateLimited,
    nonRetryable: false,
    nextRetryDelay: 3000,
  });
});

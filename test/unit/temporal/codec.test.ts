// The payload codec: large payloads shrink and come back byte for byte; small ones (what the Web UI
// shows: ids, outcomes, counts) and payloads written before the codec pass through untouched.
import { expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { COMPRESSED_ENCODING, CompressionCodec } from '../../../src/temporal/codec.js';

const codec = new CompressionCodec();
const encodingOf = (p: Payload) => Buffer.from(p.metadata?.encoding ?? new Uint8Array()).toString();

/** A prompt-like text: an instruction, code and prose, ~30 KB. */
function promptLike(): string {
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < 30_000; i++) {
    lines.push(
      `- \`wingman/core/module_${i}.py\` — other code imports it as \`from core.module_${i} import Handler${i}\``,
    );
    lines.push(`def handle_${i}(request: dict[str, int]) -> int:\n    return sum(v * ${i} for v in request.values())`);
  }
  return lines.join('\n');
}

test('a 30 KB prompt costs a few KB and decodes to the same payload', async () => {
  const original = defaultPayloadConverter.toPayload({ promptRef: { inline: promptLike() }, chars: 30_000 });
  const [encoded] = await codec.encode([original]);
  expect(encodingOf(encoded!)).toBe(COMPRESSED_ENCODING);
  expect(encoded!.data!.length).toBeLessThan(original.data!.length / 5);
  const [decoded] = await codec.decode([encoded!]);
  expect(encodingOf(decoded!)).toBe('json/plain');
  expect(Buffer.from(decoded!.data!).equals(Buffer.from(original.data!))).toBe(true);
  expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({ promptRef: { inline: promptLike() }, chars: 30_000 });
});

test('small payloads stay plain, readable in the Web UI', async () => {
  const small = defaultPayloadConverter.toPayload({
    id: 'WORKER_013',
    outcome: 'passed',
    costUsd: 0.0123,
    tokens: { prompt: 900, completion: 400 },
  });
  const [encoded] = await codec.encode([small]);
  expect(encoded).toBe(small);
  expect(encodingOf(encoded!)).toBe('json/plain');
});

test('a large payload that does not shrink (random bytes) stays plain', async () => {
  const random = randomBytes(8_000);
  const raw: Payload = { metadata: { encoding: Buffer.from('binary/plain') }, data: random };
  const [encoded] = await codec.encode([raw]);
  expect(encoded).toBe(raw);
  expect(encodingOf(encoded!)).toBe('binary/plain');
});

test('payloads written before the codec decode as they are', async () => {
  const old = defaultPayloadConverter.toPayload({ promptRef: 'a'.repeat(64), text: 'x'.repeat(10_000) });
  const [decoded] = await codec.decode([old]);
  expect(decoded).toBe(old);
});

test('encoding twice does not compress twice', async () => {
  const [once] = await codec.encode([defaultPayloadConverter.toPayload(promptLike())]);
  const [twice] = await codec.encode([once!]);
  expect(twice).toBe(once);
});

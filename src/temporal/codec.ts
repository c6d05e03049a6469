// The payload codec every client and worker of this project uses: a payload above a couple of KB
// (a prompt, an LLM answer, a test log passed inline) is stored compressed, so it costs a fraction
// of its size in the history; small payloads (ids, outcomes, counts) stay plain, so the Web UI
// shows them as they are. Compressing is lossless and keyed by its own encoding name, so histories
// written before the codec still decode, and a payload that would not shrink is left alone.
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

/**
 * The `encoding` metadata of a compressed payload; its data is the whole original payload,
 * serialized and compressed.
 */
export const COMPRESSED_ENCODING = 'binary/brotli-payload';
/** Payloads smaller than this (data plus metadata) stay plain. */
export const DEFAULT_MIN_COMPRESS_BYTES = 2 * 1024;

const ENCODING = new TextEncoder().encode(COMPRESSED_ENCODING);
const ProtoPayload = proto.temporal.api.common.v1.Payload;

export function isCompressed(p: Payload): boolean {
  const e = p.metadata?.encoding;
  return !!e && Buffer.from(e).toString() === COMPRESSED_ENCODING;
}

function sizeOf(p: Payload): number {
  let n = p.data?.length ?? 0;
  for (const [k, v] of Object.entries(p.metadata ?? {})) n += k.length + (v?.length ?? 0);
  return n;
}

export class CompressionCodec implements PayloadCodec {
  constructor(readonly minBytes = DEFAULT_MIN_COMPRESS_BYTES) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (isCompressed(p) || sizeOf(p) < this.minBytes) return p;
      const raw = ProtoPayload.encode(p).finish();
      const data = brotliCompressSync(raw, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 5,
          [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
          [constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
        },
      });
      if (data.length >= raw.length) return p;
      return { metadata: { encoding: ENCODING }, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map(decompressPayload);
  }
}

/** The payload as it was before the codec compressed it (a payload it did not compress, as it is). */
export function decompressPayload(p: Payload): Payload {
  if (!isCompressed(p)) return p;
  return ProtoPayload.decode(brotliDecompressSync(p.data ?? new Uint8Array())) as Payload;
}

/**
 * The data converter of every Client, Worker and replay of this project: default JSON payloads,
 * compressed when large.
 */
export const dataConverter: DataConverter = { payloadCodecs: [new CompressionCodec()] };

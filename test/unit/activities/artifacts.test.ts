// Blobs: small texts inline, large ones by claim check into this host's directory or a shared S3
// bucket; a claim check another host's directory holds fails as ArtifactMissing, by name.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  ARTIFACT_MISSING,
  ArtifactStore,
  claimCheck,
  createArtifactStore,
  sha256,
} from '../../../src/activities/artifacts.js';
import { S3Bucket, signRequest } from '../../../src/activities/s3.js';
import { readConfig } from '../../../src/config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wingman-blobs-'));
const big = 'x = 1\n'.repeat(100); // 600 bytes

test('a small text travels inline; the store keeps a copy by sha256', async () => {
  const store = new ArtifactStore(path.join(dir, 'a'), { inlineMaxBytes: 1024 });
  const blob = await store.putBlob('print(1)\n');
  expect(blob).toEqual({ sha256: sha256('print(1)\n'), bytes: 9, inline: 'print(1)\n', store: null });
  expect(await store.get(blob.sha256)).toBe('print(1)\n');
  // Another host, with nothing on its disk, reads it from the Blob itself.
  expect(await new ArtifactStore(path.join(dir, 'elsewhere')).readBlob(blob)).toBe('print(1)\n');
});

test('a text above the limit is a claim check; another host without a shared store: ArtifactMissing', async () => {
  const here = new ArtifactStore(path.join(dir, 'here'), { inlineMaxBytes: 100 });
  const blob = await here.putBlob(big);
  expect(blob).toMatchObject({ inline: null, store: 'local', bytes: 600 });
  expect(await here.readBlob(blob)).toBe(big);

  const there = new ArtifactStore(path.join(dir, 'there'), { inlineMaxBytes: 100 });
  const err = await there.readBlob(blob).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  const failure = err as ApplicationFailure;
  expect(failure.type).toBe(ARTIFACT_MISSING);
  expect(failure.nonRetryable).toBe(true);
  expect(failure.message).toContain(`artifact ${blob.sha256.slice(0, 12)}… not found on this worker`);
  expect(failure.message).toContain('state directories are not shared; configure WINGMAN_BLOB_S3_ENDPOINT');
});

test('a bare sha256 (workflows started before Blobs) is read from the local store', async () => {
  const store = new ArtifactStore(path.join(dir, 'legacy'));
  const ref = await store.put('legacy prompt');
  expect(await store.readBlob(ref)).toBe('legacy prompt');
  expect(await store.readBlob(claimCheck(ref))).toBe('legacy prompt');
});

test('Signature V4 matches the example of the S3 documentation (GET Object with a Range)', () => {
  const headers = signRequest(
    {
      region: 'us-east-1',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    },
    {
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
      headers: { Range: 'bytes=0-9' },
      payloadSha256: sha256(''),
      now: new Date('2013-05-24T00:00:00Z'),
    },
  );
  expect(headers.authorization).toBe(
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
      'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
      'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  );
});

// A stand-in for an S3-compatible server: path-style PUT and GET of objects, in memory. It checks
// that each request is signed for the configured key and region; it is not a real store.
let s3: Server;
let endpoint: string;
const objects = new Map<string, Buffer>();
const seen: string[] = [];
beforeAll(async () => {
  s3 = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    seen.push(`${req.method} ${req.url}`);
    if (
      !auth.startsWith('AWS4-HMAC-SHA256 Credential=test-key/') ||
      !auth.includes('/eu-test-1/s3/aws4_request') ||
      !req.headers['x-amz-content-sha256']
    ) {
      res.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = req.url ?? '';
      if (req.method === 'PUT') {
        objects.set(key, Buffer.concat(chunks));
        res.writeHead(200).end();
      } else if (req.method === 'GET' && objects.has(key)) res.writeHead(200).end(objects.get(key));
      else res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>');
    });
  });
  await new Promise<void>((r) => s3.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(s3.address() as AddressInfo).port}`;
});
afterAll(async () => new Promise<void>((r) => s3.close(() => r())));

function s3Env(state: string): NodeJS.ProcessEnv {
  return {
    WINGMAN_STATE_DIR: path.join(dir, state),
    WINGMAN_BLOB_INLINE_MAX: '100',
    WINGMAN_BLOB_S3_ENDPOINT: endpoint,
    WINGMAN_BLOB_S3_BUCKET: 'wingman-blobs',
    WINGMAN_BLOB_S3_REGION: 'eu-test-1',
    AWS_ACCESS_KEY_ID: 'test-key',
    AWS_SECRET_ACCESS_KEY: 'test-secret',
  };
}

test('with a shared bucket, a claim check put on one host is read on another', async () => {
  const workspaceHost = createArtifactStore(readConfig(s3Env('ws')));
  const llmHost = createArtifactStore(readConfig(s3Env('llm')));
  const blob = await workspaceHost.putBlob(big);
  expect(blob).toMatchObject({ inline: null, store: 's3' });
  expect(seen).toContain(`PUT /wingman-blobs/artifacts/${blob.sha256.slice(0, 2)}/${blob.sha256}`);
  expect(await llmHost.readBlob(blob)).toBe(big);
  expect(await llmHost.has(blob.sha256)).toBe(true); // kept: a retry does not download it again

  const gone = createArtifactStore(readConfig(s3Env('gone')));
  const err = (await gone
    .readBlob({ ...blob, sha256: sha256('never put') })
    .catch((e: unknown) => e)) as ApplicationFailure;
  expect(err.type).toBe(ARTIFACT_MISSING);
  expect(err.message).toContain('the bucket does not hold it either');
});

test('a wrong key is an error of the store, not a missing artifact', async () => {
  const bucket = new S3Bucket({
    endpoint,
    bucket: 'b',
    region: 'eu-test-1',
    accessKeyId: 'other',
    secretAccessKey: 's',
  });
  await expect(bucket.put('k', 'v')).rejects.toThrow(/HTTP 403/);
});

test('half an S3 configuration is refused', () => {
  expect(() => createArtifactStore(readConfig({ WINGMAN_STATE_DIR: dir, WINGMAN_BLOB_S3_BUCKET: 'b' }))).toThrow(
    /go together/,
  );
});

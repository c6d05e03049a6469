// The large things a worker handles (prompts, LLM answers, test logs) and how they travel
// between activities: as Blob values that go through Temporal, inline when small (the payload
// codec compresses them), by claim check when large. The claim-check store is this host's
// content-addressed directory by default (one machine), or an S3-compatible bucket every worker
// shares. A worker that cannot find a claim-checked text says so by name (ArtifactMissing)
// instead of failing in a way that looks like a provider's fault.
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Config } from '../config.js';
import type { Blob } from '../schemas.js';
import { S3Bucket } from './s3.js';
import { writeAtomic } from './write-atomic.js';

/** A prompt is ~30 KB: it travels inline. Above this, a text goes by claim check. */
export const DEFAULT_INLINE_MAX_BYTES = 256 * 1024;

export const ARTIFACT_MISSING = 'ArtifactMissing';

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ArtifactStore {
  constructor(
    /** This host's directory: the claim-check store without S3, and a copy of everything put here. */
    readonly root: string,
    readonly opts: { s3?: S3Bucket | null; inlineMaxBytes?: number } = {},
  ) {}

  private fileFor(ref: string): string {
    if (!/^[0-9a-f]{64}$/.test(ref)) throw new Error(`not an artifact reference: ${ref}`);
    return path.join(this.root, ref.slice(0, 2), ref);
  }

  async put(text: string): Promise<string> {
    const ref = sha256(text);
    await writeAtomic(this.fileFor(ref), text);
    return ref;
  }

  async has(ref: string): Promise<boolean> {
    return access(this.fileFor(ref)).then(
      () => true,
      () => false,
    );
  }

  async get(ref: string): Promise<string> {
    return readFile(this.fileFor(ref), 'utf8');
  }

  /** Where claim checks go: workers that show different values cannot pass large texts to each other. */
  get where(): string {
    return this.opts.s3 ? `s3:${this.opts.s3.address}` : `local:${hostname()}:${this.root}`;
  }

  /** Keeps a copy here (the report and `--replay-from` read by sha256) and returns the Blob to pass on. */
  async putBlob(text: string): Promise<Blob> {
    const bytes = Buffer.byteLength(text, 'utf8');
    const ref = await this.put(text);
    if (bytes <= (this.opts.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES))
      return { sha256: ref, bytes, inline: text, store: null };
    if (!this.opts.s3) return { sha256: ref, bytes, inline: null, store: 'local' };
    await this.opts.s3.put(keyFor(ref), text);
    return { sha256: ref, bytes, inline: null, store: 's3' };
  }

  /**
   * The text of a Blob; a claim check this worker cannot redeem fails with a non-retryable
   * ArtifactMissing. A bare sha256 (what workflows started before Blobs pass) is a local claim check.
   */
  async readBlob(given: Blob | string): Promise<string> {
    const blob = typeof given === 'string' ? claimCheck(given) : given;
    if (blob.inline !== null) return blob.inline;
    if (await this.has(blob.sha256)) return this.get(blob.sha256);
    // A local claim check from another host, or an answer named by an earlier batch's report: the
    // shared bucket may hold it all the same.
    const s3 = this.opts.s3;
    const text = s3 ? await s3.get(keyFor(blob.sha256)) : null;
    if (text === null) throw this.missing(blob);
    if (sha256(text) !== blob.sha256) {
      throw ApplicationFailure.nonRetryable(
        `artifact ${blob.sha256.slice(0, 12)}… in ${this.where} does not match its sha256`,
        ARTIFACT_MISSING,
      );
    }
    await this.put(text);
    return text;
  }

  private missing(blob: Blob): ApplicationFailure {
    const fix = this.opts.s3
      ? 'the bucket does not hold it either: ' +
        'give every worker the same WINGMAN_BLOB_S3_ENDPOINT and WINGMAN_BLOB_S3_BUCKET'
      : 'state directories are not shared; ' +
        'configure WINGMAN_BLOB_S3_ENDPOINT and WINGMAN_BLOB_S3_BUCKET on every worker, ' +
        'or run the LLM and workspace roles on one machine';
    return ApplicationFailure.create({
      type: ARTIFACT_MISSING,
      nonRetryable: true,
      message: `artifact ${blob.sha256.slice(0, 12)}… not found on this worker (${this.where}): ${fix}`,
    });
  }
}

function keyFor(ref: string): string {
  return `artifacts/${ref.slice(0, 2)}/${ref}`;
}

/** A claim check by sha256 alone (an earlier batch's report names its answers that way). */
export function claimCheck(ref: string): Blob {
  return { sha256: ref, bytes: null, inline: null, store: 'local' };
}

/** The store of this process: its state directory, and the shared bucket when one is configured. */
export function createArtifactStore(c: Config): ArtifactStore {
  const endpoint = c.WINGMAN_BLOB_S3_ENDPOINT;
  const bucket = c.WINGMAN_BLOB_S3_BUCKET;
  if (!endpoint !== !bucket)
    throw new Error('WINGMAN_BLOB_S3_ENDPOINT and WINGMAN_BLOB_S3_BUCKET go together: set both or neither');
  if (endpoint && (!c.AWS_ACCESS_KEY_ID || !c.AWS_SECRET_ACCESS_KEY)) {
    throw new Error('the S3 blob store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  }
  const s3 =
    endpoint && bucket
      ? new S3Bucket({
          endpoint,
          bucket,
          region: c.WINGMAN_BLOB_S3_REGION,
          accessKeyId: c.AWS_ACCESS_KEY_ID ?? '',
          secretAccessKey: c.AWS_SECRET_ACCESS_KEY ?? '',
          sessionToken: c.AWS_SESSION_TOKEN,
        })
      : null;
  return new ArtifactStore(path.join(c.stateDir, 'artifacts'), { s3, inlineMaxBytes: c.WINGMAN_BLOB_INLINE_MAX });
}

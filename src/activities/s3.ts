// A minimal S3 client (PUT, GET of one object, path-style, AWS Signature V4) for the shared blob
// store: enough for MinIO, SeaweedFS, R2 or AWS, without the AWS SDK's hundred packages.
import { createHash, createHmac } from 'node:crypto';

export interface S3Settings {
  /** Base URL, e.g. http://minio:9000 or https://s3.eu-west-1.amazonaws.com. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** `20130524T000000Z` */
export function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** RFC 3986 encoding of each path segment, as SigV4's canonical URI wants it. */
function encodePath(p: string): string {
  return p
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/**
 * The headers that sign one request (Signature V4, header-based, no query string). `headers`
 * must hold every header to sign except those added here (host, x-amz-date, x-amz-content-sha256).
 */
export function signRequest(
  s: Pick<S3Settings, 'region' | 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>,
  req: { method: string; url: URL; headers: Record<string, string>; payloadSha256: string; now: Date },
): Record<string, string> {
  const date = amzDate(req.now);
  const day = date.slice(0, 8);
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v.trim()])),
    host: req.url.host,
    'x-amz-content-sha256': req.payloadSha256,
    'x-amz-date': date,
  };
  if (s.sessionToken) headers['x-amz-security-token'] = s.sessionToken;
  const names = Object.keys(headers).sort();
  const canonical = [
    req.method,
    encodePath(decodeURIComponent(req.url.pathname)),
    '',
    ...names.map((n) => `${n}:${headers[n]}`),
    '',
    names.join(';'),
    req.payloadSha256,
  ].join('\n');
  const scope = `${day}/${s.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${s.secretAccessKey}`, day), s.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const { host: _host, ...rest } = headers;
  return {
    ...rest,
    authorization:
      `AWS4-HMAC-SHA256 Credential=${s.accessKeyId}/${scope}, ` +
      `SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

export class S3Error extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class S3Bucket {
  constructor(readonly s: S3Settings) {}

  /** Where this bucket is, for messages and for telling two workers' stores apart. */
  get address(): string {
    return `${this.s.endpoint.replace(/\/+$/, '')}/${this.s.bucket}`;
  }

  private url(key: string): URL {
    return new URL(`${this.address}/${key}`);
  }

  private async send(method: 'GET' | 'PUT', key: string, body?: Buffer): Promise<Response> {
    const url = this.url(key);
    const headers = signRequest(this.s, {
      method,
      url,
      headers: body ? { 'content-type': 'text/plain; charset=utf-8' } : {},
      payloadSha256: hex(body ?? ''),
      now: new Date(),
    });
    return fetch(url, {
      method,
      headers,
      body: body ? new Uint8Array(body) : undefined,
      signal: AbortSignal.timeout(60_000),
    });
  }

  async put(key: string, text: string): Promise<void> {
    const res = await this.send('PUT', key, Buffer.from(text, 'utf8'));
    if (!res.ok)
      throw new S3Error(
        `PUT ${this.address}/${key}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`,
        res.status,
      );
    await res.arrayBuffer();
  }

  /** The object's text, or null when the bucket has no such key. */
  async get(key: string): Promise<string | null> {
    const res = await this.send('GET', key);
    if (res.status === 404) {
      await res.arrayBuffer();
      return null;
    }
    if (!res.ok)
      throw new S3Error(
        `GET ${this.address}/${key}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`,
        res.status,
      );
    return res.text();
  }
}

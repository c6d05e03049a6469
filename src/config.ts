// Environment, read once and validated. Secrets (API keys) stay here, in the worker's process:
// they are never put into workflow inputs, results or history.
import { z } from 'zod';
import path from 'node:path';
import type { Provider } from './schemas.js';

const optionalUrl = z.string().url().optional();
const port = z.coerce.number().int().min(1).max(65535);

const Env = z.object({
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  OLLAMA_HOST: z.string().min(1).optional(),
  OLLAMA_PORT: port.default(11434),
  OLLAMA_MODEL: z.string().min(1).default('qwen2.5-coder:7b'),
  /**
   * The LLM processor's base URL, or `none`; unset: the original's default when its .env is in use
   * (see resolveProcessor).
   */
  INTEL_LLM_PROCESSOR: z.union([z.literal('none'), z.string().url()], { error: 'a URL, or "none"' }).optional(),
  INTEL_LLM_PROCESSOR_MODEL: z.string().min(1).default('codellama:13b'),
  /** The original's router service (a URL), or, as this project once read it, a provider name. */
  INTEL_LLM_ROUTER: z.string().min(1).optional(),
  /** Provider for instructions whose TASK_CLASSIFICATION names none. */
  WINGMAN_DEFAULT_PROVIDER: z.enum(['openai', 'ollama', 'processor']).optional(),
  /** Sent to every provider, as the original did (temperature 0.1, 4000 tokens). */
  WINGMAN_LLM_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.1),
  WINGMAN_LLM_MAX_TOKENS: z.coerce.number().int().positive().default(4000),
  MEM0_API_URL: optionalUrl,
  MEM0_API_KEY: z.string().min(1).optional(),
  MEM0_USER_ID: z.string().min(1).default('wingman'),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('wingman'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  /** Task queue of the activities that touch the checkout; a second host with its own checkout uses its own name. */
  WINGMAN_WORKSPACE_QUEUE: z.string().min(1).default('workspace'),
  /** Per-provider limits, enforced by each LLM queue's workers. */
  WINGMAN_OPENAI_CONCURRENCY: z.coerce.number().int().positive().default(50),
  WINGMAN_OPENAI_RPS: z.coerce.number().positive().optional(),
  WINGMAN_OLLAMA_CONCURRENCY: z.coerce.number().int().positive().default(2),
  WINGMAN_PROCESSOR_CONCURRENCY: z.coerce.number().int().positive().default(2),
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  /** Where prompts, generations and test logs are kept (content-addressed), and the local memory store. */
  WINGMAN_STATE_DIR: z.string().min(1).default('.wingman'),
  /** Allowed test runners, comma separated (see src/instructions/commands.ts). */
  WINGMAN_ALLOWED_RUNNERS: z.string().optional(),
  WINGMAN_TEST_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  WINGMAN_TEST_OUTPUT_CAP: z.coerce.number().int().positive().default(1_000_000),
  /** LLM call policy: per-call timeout, heartbeat, and Temporal's retry of one provider before falling back. */
  WINGMAN_LLM_TIMEOUT_MS: z.coerce.number().int().positive().default(300_000),
  WINGMAN_LLM_HEARTBEAT_MS: z.coerce.number().int().positive().default(30_000),
  WINGMAN_LLM_MAX_ATTEMPTS: z.coerce.number().int().positive().default(4),
  WINGMAN_LLM_RETRY_INITIAL_MS: z.coerce.number().int().positive().default(2_000),
  WINGMAN_LLM_RETRY_MAX_MS: z.coerce.number().int().positive().default(60_000),
  /** How long an LLM call waits for a worker on its provider's queue before falling back. */
  WINGMAN_LLM_SCHEDULE_TO_START_MS: z.coerce.number().int().positive().default(300_000),
  /** Path of the `temporal` CLI for the local dev server; otherwise PATH, otherwise the SDK downloads it. */
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  /** The Web UI's base URL, for the links the CLI prints. */
  TEMPORAL_UI_URL: optionalUrl,
  /** Port of the Prometheus endpoint (0.0.0.0:<port>/metrics): the SDK's metrics and Wingman's. None: no endpoint. */
  WINGMAN_METRICS_PORT: port.optional(),
  /** The Python interpreter for tests; its real path is resolved once. */
  WINGMAN_PYTHON: z.string().min(1).default('python3'),
  /** A worker's first prompt carries lessons from earlier workers' retrospectives (off: it does not). */
  WINGMAN_LESSONS: z.enum(['on', 'off']).default('on'),
  /** Texts passed between activities above this size (bytes) go by claim check instead of inline. */
  WINGMAN_BLOB_INLINE_MAX: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(256 * 1024),
  /** A shared S3-compatible bucket for claim checks; without it they stay in this host's WINGMAN_STATE_DIR. */
  WINGMAN_BLOB_S3_ENDPOINT: optionalUrl,
  WINGMAN_BLOB_S3_BUCKET: z.string().min(1).optional(),
  WINGMAN_BLOB_S3_REGION: z.string().min(1).default('us-east-1'),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
});

export type Config = z.infer<typeof Env> & {
  stateDir: string;
  /** INTEL_LLM_ROUTER when it is a URL: the original's router service (checked at start, not called). */
  routerUrl: string | undefined;
  /** WINGMAN_DEFAULT_PROVIDER, else INTEL_LLM_ROUTER when it names a provider. */
  defaultProvider: Provider | undefined;
  /** Where INTEL_LLM_PROCESSOR (resolved: a URL or undefined) came from. */
  processorSource: 'env' | 'original default' | null;
};

export class ConfigError extends Error {}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings in .env files mean "not set".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Env.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid environment: ${problems}`);
  }
  const data = parsed.data;
  const router = parseRouter(data.INTEL_LLM_ROUTER);
  if (router instanceof ConfigError) throw router;
  const processor = resolveProcessor(data.INTEL_LLM_PROCESSOR, data.INTEL_LLM_ROUTER !== undefined);
  return {
    ...data,
    INTEL_LLM_PROCESSOR: processor.url,
    stateDir: path.resolve(data.WINGMAN_STATE_DIR),
    routerUrl: router.url,
    defaultProvider: data.WINGMAN_DEFAULT_PROVIDER ?? router.provider,
    processorSource: processor.source,
  };
}

const PROVIDERS: readonly Provider[] = ['openai', 'ollama', 'processor'];

/** The processor's URL in the original setup, where it was always on. */
export const ORIGINAL_PROCESSOR_URL = 'http://localhost:18027';

/**
 * INTEL_LLM_ROUTER: the original's router service is a URL, and the URL meaning wins whenever the
 * value parses as an http(s) URL; a provider name (this project's old reading) still works.
 */
export function parseRouter(value: string | undefined): { url?: string; provider?: Provider } | ConfigError {
  if (value === undefined) return {};
  if ((PROVIDERS as readonly string[]).includes(value)) return { provider: value as Provider };
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return { url: value };
  } catch {
    // not a URL: refused below
  }
  return new ConfigError(
    `invalid environment: INTEL_LLM_ROUTER: "${value}" is neither an http(s) URL (the router service) ` +
      `nor a provider (${PROVIDERS.join(', ')}); a default provider belongs in WINGMAN_DEFAULT_PROVIDER`,
  );
}

/**
 * The processor is on when INTEL_LLM_PROCESSOR is a URL. Unset, the original's default URL applies
 * only when INTEL_LLM_ROUTER is set too: that variable exists only in the original's .env, whose
 * local workers always went through the processor. Anywhere else an always-set default would make
 * a processor that nobody runs look configured. `none` turns it off even then.
 */
export function resolveProcessor(
  value: string | undefined,
  originalEnv: boolean,
): { url: string | undefined; source: Config['processorSource'] } {
  if (value === 'none') return { url: undefined, source: null };
  if (value !== undefined) return { url: value, source: 'env' };
  return originalEnv ? { url: ORIGINAL_PROCESSOR_URL, source: 'original default' } : { url: undefined, source: null };
}

let cached: Config | undefined;
/** The process's configuration, read on first use. */
export function config(): Config {
  cached ??= readConfig();
  return cached;
}

/** Base URL of the local Ollama server, from OLLAMA_HOST (host, host:port or URL) and OLLAMA_PORT. */
export function ollamaBaseUrl(c: Config): string | undefined {
  if (!c.OLLAMA_HOST) return undefined;
  const host = c.OLLAMA_HOST.replace(/\/+$/, '');
  if (/^https?:\/\//.test(host)) return new URL(host).port ? host : `${host}:${c.OLLAMA_PORT}`;
  return host.includes(':') ? `http://${host}` : `http://${host}:${c.OLLAMA_PORT}`;
}

/** The providers this process can call, in the default fallback order. */
export function configuredProviders(c: Config): Array<'openai' | 'ollama' | 'processor'> {
  const out: Array<'openai' | 'ollama' | 'processor'> = [];
  if (c.OPENAI_API_KEY) out.push('openai');
  if (c.OLLAMA_HOST) out.push('ollama');
  if (c.INTEL_LLM_PROCESSOR) out.push('processor');
  return out;
}

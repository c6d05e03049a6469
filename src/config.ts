// Environment, read once and validated. Secrets (API keys) stay here, in the worker's process:
// they are never put into workflow inputs, results or history.
import { z } from 'zod';
import path from 'node:path';

const optionalUrl = z.string().url().optional();
const port = z.coerce.number().int().min(1).max(65535);

const Env = z.object({
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  OLLAMA_HOST: z.string().min(1).optional(),
  OLLAMA_PORT: port.default(11434),
  OLLAMA_MODEL: z.string().min(1).default('qwen2.5-coder:7b'),
  INTEL_LLM_PROCESSOR: optionalUrl,
  INTEL_LLM_PROCESSOR_MODEL: z.string().min(1).default('default'),
  /** Provider for instructions whose TASK_CLASSIFICATION names none. */
  INTEL_LLM_ROUTER: z.enum(['openai', 'ollama', 'processor']).optional(),
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
  /** Path of the `temporal` CLI for the local dev server; otherwise PATH, otherwise the SDK downloads it. */
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
  /** The Web UI's base URL, for the links the CLI prints. */
  TEMPORAL_UI_URL: optionalUrl,
  /** Port of the Prometheus endpoint (0.0.0.0:<port>/metrics): the SDK's metrics and Wingman's. None: no endpoint. */
  WINGMAN_METRICS_PORT: port.optional(),
  /** The Python interpreter for tests; its real path is resolved once. */
  WINGMAN_PYTHON: z.string().min(1).default('python3'),
  /** Texts passed between activities above this size (bytes) go by claim check instead of inline. */
  WINGMAN_BLOB_INLINE_MAX: z.coerce.number().int().nonnegative().default(256 * 1024),
  /** A shared S3-compatible bucket for claim checks; without it they stay in this host's WINGMAN_STATE_DIR. */
  WINGMAN_BLOB_S3_ENDPOINT: optionalUrl,
  WINGMAN_BLOB_S3_BUCKET: z.string().min(1).optional(),
  WINGMAN_BLOB_S3_REGION: z.string().min(1).default('us-east-1'),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
});

export type Config = z.infer<typeof Env> & { stateDir: string };

export class ConfigError extends Error {}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings in .env files mean "not set".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = Env.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid environment: ${problems}`);
  }
  return { ...parsed.data, stateDir: path.resolve(parsed.data.WINGMAN_STATE_DIR) };
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

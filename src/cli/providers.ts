// Which LLM providers answer, checked before anything starts so a batch never begins with
// nobody to generate its code.
import { request } from 'undici';
import { configuredProviders, ollamaBaseUrl, type Config } from '../config.js';
import type { Provider } from '../schemas.js';

export interface ProviderCheck {
  provider: Provider;
  ok: boolean;
  detail: string;
}

async function answers(url: string, headers: Record<string, string> = {}): Promise<{ ok: boolean; detail: string }> {
  try {
    const res = await request(url, { method: 'GET', headers, headersTimeout: 5_000, bodyTimeout: 5_000 });
    await res.body.dump();
    if (res.statusCode === 401 || res.statusCode === 403)
      return { ok: false, detail: `${url} refused the credentials (HTTP ${res.statusCode})` };
    return { ok: true, detail: `${url} answered HTTP ${res.statusCode}` };
  } catch (err) {
    return { ok: false, detail: `${url} did not answer (${(err as Error).message})` };
  }
}

export async function checkProviders(c: Config): Promise<ProviderCheck[]> {
  const checks = configuredProviders(c).map(async (provider): Promise<ProviderCheck> => {
    if (provider === 'openai') {
      const base = (c.OPENAI_BASE_URL ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
      return { provider, ...(await answers(`${base}/models`, { authorization: `Bearer ${c.OPENAI_API_KEY}` })) };
    }
    if (provider === 'ollama') return { provider, ...(await answers(`${ollamaBaseUrl(c)}/api/tags`)) };
    const checked = await answers(c.INTEL_LLM_PROCESSOR!.replace(/\/+$/, ''));
    const origin =
      c.processorSource === 'original default'
        ? " (the original setup's default; INTEL_LLM_PROCESSOR=none turns it off)"
        : '';
    return { provider, ok: checked.ok, detail: `${checked.detail}${origin}` };
  });
  return Promise.all(checks);
}

/**
 * The original's router service (INTEL_LLM_ROUTER as a URL): checked once so the user sees whether
 * it is up, never called for generations (the provider chain routes here) and never blocking.
 * One line, or null when no router is set.
 */
export async function checkRouter(c: Config): Promise<string | null> {
  if (!c.routerUrl) return null;
  const { ok, detail } = await answers(c.routerUrl);
  return (
    `router INTEL_LLM_ROUTER ${ok ? 'up' : 'down'}: ${detail}; ` +
    'not used for calls (Wingman routes between providers itself)'
  );
}

export const PROVIDER_HELP = `No LLM provider is configured or reachable. Set at least one of:
  OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server)
  OLLAMA_HOST (and OLLAMA_PORT, default 11434) for a local Ollama
  INTEL_LLM_PROCESSOR (base URL of the LLM processor, which serves POST /generate)
INTEL_LLM_ROUTER (the original's router service) is not a provider: calls go to the ones above.`;

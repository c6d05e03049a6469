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
    if (res.statusCode === 401 || res.statusCode === 403) return { ok: false, detail: `${url} refused the credentials (HTTP ${res.statusCode})` };
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
    return { provider, ...(await answers(c.INTEL_LLM_PROCESSOR!.replace(/\/+$/, ''))) };
  });
  return Promise.all(checks);
}

export const PROVIDER_HELP = `No LLM provider is configured or reachable. Set at least one of:
  OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible server)
  OLLAMA_HOST (and OLLAMA_PORT, default 11434) for a local Ollama
  INTEL_LLM_PROCESSOR (base URL of the LLM processor, which serves POST /generate)`;

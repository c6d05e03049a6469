// The environment variables carried over from the original setup, and the LLM settings.
import { ConfigError, ORIGINAL_PROCESSOR_URL, configuredProviders, readConfig } from '../../src/config.js';

const base = { WINGMAN_STATE_DIR: '/tmp/wingman-config-test' };

describe('INTEL_LLM_ROUTER', () => {
  test("the original's router URL is accepted as the router, not as a provider", () => {
    const c = readConfig({ ...base, INTEL_LLM_ROUTER: 'http://host.docker.internal:18023' });
    expect(c.routerUrl).toBe('http://host.docker.internal:18023');
    expect(c.defaultProvider).toBeUndefined();
  });

  test('a provider name still picks the default primary; our own WINGMAN_DEFAULT_PROVIDER wins', () => {
    expect(readConfig({ ...base, INTEL_LLM_ROUTER: 'ollama' })).toMatchObject({
      defaultProvider: 'ollama',
      routerUrl: undefined,
    });
    expect(readConfig({ ...base, WINGMAN_DEFAULT_PROVIDER: 'processor' })).toMatchObject({
      defaultProvider: 'processor',
      routerUrl: undefined,
    });
    expect(
      readConfig({ ...base, WINGMAN_DEFAULT_PROVIDER: 'processor', INTEL_LLM_ROUTER: 'ollama' }).defaultProvider,
    ).toBe('processor');
    // Both meanings at once: the router URL from the old name, the provider from ours.
    expect(
      readConfig({ ...base, WINGMAN_DEFAULT_PROVIDER: 'ollama', INTEL_LLM_ROUTER: 'https://router.example:8443/v1' }),
    ).toMatchObject({
      defaultProvider: 'ollama',
      routerUrl: 'https://router.example:8443/v1',
    });
  });

  test('anything else is refused, naming both meanings and the new variable', () => {
    for (const bad of ['localhost:18023', 'gpt-4', 'ftp://host/x']) {
      expect(() => readConfig({ ...base, INTEL_LLM_ROUTER: bad })).toThrow(ConfigError);
      expect(() => readConfig({ ...base, INTEL_LLM_ROUTER: bad })).toThrow(
        /INTEL_LLM_ROUTER.*URL.*provider.*WINGMAN_DEFAULT_PROVIDER/,
      );
    }
    expect(() => readConfig({ ...base, WINGMAN_DEFAULT_PROVIDER: 'http://x' })).toThrow(/WINGMAN_DEFAULT_PROVIDER/);
  });
});

describe('INTEL_LLM_PROCESSOR', () => {
  test('unset, and not the original setup: off (nothing pretends a processor is there)', () => {
    const c = readConfig({ ...base, OPENAI_API_KEY: 'sk-x' });
    expect(c.INTEL_LLM_PROCESSOR).toBeUndefined();
    expect(c.processorSource).toBeNull();
    expect(configuredProviders(c)).toEqual(['openai']);
  });

  test("unset with the original's .env (INTEL_LLM_ROUTER set): the original's default URL", () => {
    for (const router of ['http://host.docker.internal:18023', 'openai']) {
      const c = readConfig({ ...base, OPENAI_API_KEY: 'sk-x', INTEL_LLM_ROUTER: router });
      expect(c.INTEL_LLM_PROCESSOR).toBe(ORIGINAL_PROCESSOR_URL);
      expect(ORIGINAL_PROCESSOR_URL).toBe('http://localhost:18027');
      expect(c.processorSource).toBe('original default');
      expect(configuredProviders(c)).toEqual(['openai', 'processor']);
    }
  });

  test('a URL is used as given; "none" turns it off even in the original setup; anything else is refused', () => {
    expect(readConfig({ ...base, INTEL_LLM_PROCESSOR: 'http://gpu-box:9000' })).toMatchObject({
      INTEL_LLM_PROCESSOR: 'http://gpu-box:9000',
      processorSource: 'env',
    });
    const off = readConfig({
      ...base,
      INTEL_LLM_PROCESSOR: 'none',
      INTEL_LLM_ROUTER: 'http://host.docker.internal:18023',
    });
    expect(off.INTEL_LLM_PROCESSOR).toBeUndefined();
    expect(configuredProviders(off)).toEqual([]);
    expect(() => readConfig({ ...base, INTEL_LLM_PROCESSOR: 'gpu-box' })).toThrow(/INTEL_LLM_PROCESSOR/);
  });

  test("the processor's model defaults to the original's codellama:13b", () => {
    expect(readConfig(base).INTEL_LLM_PROCESSOR_MODEL).toBe('codellama:13b');
  });
});

test('temperature and max tokens: the original 0.1 and 4000 by default, settable, validated', () => {
  expect(readConfig(base)).toMatchObject({ WINGMAN_LLM_TEMPERATURE: 0.1, WINGMAN_LLM_MAX_TOKENS: 4000 });
  expect(readConfig({ ...base, WINGMAN_LLM_TEMPERATURE: '0', WINGMAN_LLM_MAX_TOKENS: '8192' })).toMatchObject({
    WINGMAN_LLM_TEMPERATURE: 0,
    WINGMAN_LLM_MAX_TOKENS: 8192,
  });
  expect(() => readConfig({ ...base, WINGMAN_LLM_TEMPERATURE: '3' })).toThrow(/WINGMAN_LLM_TEMPERATURE/);
  expect(() => readConfig({ ...base, WINGMAN_LLM_MAX_TOKENS: '0' })).toThrow(/WINGMAN_LLM_MAX_TOKENS/);
  expect(() => readConfig({ ...base, WINGMAN_LLM_MAX_TOKENS: 'lots' })).toThrow(/WINGMAN_LLM_MAX_TOKENS/);
});

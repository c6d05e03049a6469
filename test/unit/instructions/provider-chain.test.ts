// The fallback order: local instructions stay local while a local provider is there.
import { isLocal, providerChain } from '../../../src/instructions/provider-chain.js';

describe('providerChain', () => {
  test('the original setup (processor and OpenAI, no Ollama): LLM: ollama goes to the processor before OpenAI', () => {
    expect(providerChain('ollama', ['openai', 'processor'])).toEqual(['processor', 'openai']);
  });

  test('a local primary tries every local provider before any paid one, whatever order they are listed in', () => {
    expect(providerChain('ollama', ['openai', 'ollama', 'processor'])).toEqual(['ollama', 'processor', 'openai']);
    expect(providerChain('ollama', ['processor', 'openai', 'ollama'])).toEqual(['ollama', 'processor', 'openai']);
    expect(providerChain('processor', ['openai', 'ollama', 'processor'])).toEqual(['processor', 'ollama', 'openai']);
    expect(providerChain('processor', ['openai', 'ollama'])).toEqual(['ollama', 'openai']);
  });

  test('a paid primary falls back to the local providers', () => {
    expect(providerChain('openai', ['openai', 'ollama', 'processor'])).toEqual(['openai', 'ollama', 'processor']);
    expect(providerChain('openai', ['processor', 'openai'])).toEqual(['openai', 'processor']);
    expect(providerChain('openai', ['ollama'])).toEqual(['ollama']);
  });

  test('only available providers, never twice; none available: an empty chain', () => {
    expect(providerChain('ollama', ['ollama'])).toEqual(['ollama']);
    expect(providerChain('openai', [])).toEqual([]);
    expect(providerChain('ollama', ['openai'])).toEqual(['openai']);
  });

  test('local and paid', () => {
    expect(['openai', 'ollama', 'processor'].map((p) => isLocal(p as 'openai'))).toEqual([false, true, true]);
  });
});

// The start-time checks: providers, the original's router service (reported, never blocking),
// and the processor's default in the original setup.
import { readConfig } from '../../../src/config.js';
import { checkProviders, checkRouter } from '../../../src/cli/providers.js';
import { startLlmStandIn, type LlmStandIn } from '../../support/llm-standin.js';
import { freePort } from '../../support/ports.js';

let s: LlmStandIn;
beforeAll(async () => {
  s = await startLlmStandIn();
});
afterAll(() => s.close());

const base = { WINGMAN_STATE_DIR: '/tmp/wingman-providers-test' };

test('a router that answers is reported up, and as not used for calls', async () => {
  const line = await checkRouter(readConfig({ ...base, INTEL_LLM_ROUTER: s.url }));
  expect(line).toMatch(/^router INTEL_LLM_ROUTER up: http:\/\/127\.0\.0\.1:\d+ answered HTTP 200; not used for calls/);
});

test('a router that is down is one line, and the providers that work are still available', async () => {
  const router = `http://127.0.0.1:${await freePort()}`;
  const c = readConfig({ ...base, INTEL_LLM_ROUTER: router, INTEL_LLM_PROCESSOR: s.url, OLLAMA_HOST: s.url });
  const [line, checks] = await Promise.all([checkRouter(c), checkProviders(c)]);
  expect(line).toMatch(/^router INTEL_LLM_ROUTER down: http:\/\/127\.0\.0\.1:\d+ did not answer/);
  expect(line!.split('\n')).toHaveLength(1);
  expect(checks.map((ch) => [ch.provider, ch.ok])).toEqual([
    ['ollama', true],
    ['processor', true],
  ]);
});

test('no router set: nothing to report; a router given as a provider name is not a URL to check', async () => {
  expect(await checkRouter(readConfig(base))).toBeNull();
  expect(await checkRouter(readConfig({ ...base, INTEL_LLM_ROUTER: 'openai' }))).toBeNull();
});

test("the processor at the original's default URL: checked like any other, says where its URL came from", async () => {
  const c = readConfig({ ...base, INTEL_LLM_ROUTER: 'http://host.docker.internal:18023' });
  const checks = await checkProviders(c);
  expect(checks).toHaveLength(1);
  expect(checks[0]!.provider).toBe('processor');
  expect(checks[0]!.detail).toMatch(/^http:\/\/localhost:18027 /);
  expect(checks[0]!.detail).toMatch(/the original setup's default; INTEL_LLM_PROCESSOR=none turns it off/);
});

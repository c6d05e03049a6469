import {
  DEFAULT_PRICE,
  PRICE_TABLE,
  PRICE_TABLE_DATE,
  baseModel,
  costUsd,
  priceFor,
} from '../../../../src/activities/llm/pricing.js';

test('the table is the published list (USD per 1M tokens) with its date', () => {
  expect(PRICE_TABLE_DATE).toMatch(/^2026/);
  expect(PRICE_TABLE).toEqual({
    'gpt-4o': { input: 2.5, output: 10 },
    'gpt-4o-mini': { input: 0.15, output: 0.6 },
    'gpt-4.1': { input: 2.0, output: 8.0 },
    'gpt-4.1-mini': { input: 0.4, output: 1.6 },
    'gpt-4': { input: 30, output: 60 },
  });
});

test('cost = tokens x price / 1M', () => {
  expect(costUsd('openai', 'gpt-4o', { prompt: 1_000_000, completion: 1_000_000 })).toBeCloseTo(12.5, 10);
  expect(costUsd('openai', 'gpt-4o-mini', { prompt: 2000, completion: 500 })).toBeCloseTo(
    (2000 * 0.15 + 500 * 0.6) / 1e6,
    15,
  );
  expect(costUsd('openai', 'gpt-4.1-mini', { prompt: 0, completion: 0 })).toBe(0);
});

test('local providers cost nothing', () => {
  expect(costUsd('ollama', 'gpt-4o', { prompt: 1e6, completion: 1e6 })).toBe(0);
  expect(costUsd('processor', 'default', { prompt: 1e6, completion: 1e6 })).toBe(0);
});

test('dated and prefixed names map to their base; gpt-4o-mini is not gpt-4o', () => {
  expect(baseModel('gpt-4o-mini-2024-07-18')).toBe('gpt-4o-mini');
  expect(baseModel('gpt-4o-2024-08-06')).toBe('gpt-4o');
  expect(baseModel('gpt-4-0613')).toBe('gpt-4');
  expect(baseModel('openai/GPT-4.1')).toBe('gpt-4.1');
  expect(priceFor('gpt-4o-mini-2024-07-18')).toEqual({ price: PRICE_TABLE['gpt-4o-mini'], known: true });
  expect(priceFor('gpt-4.1-mini-2025-04-14').price).toEqual({ input: 0.4, output: 1.6 });
});

test('an unknown OpenAI model is charged at the most expensive listed price', () => {
  expect(DEFAULT_PRICE).toEqual({ input: 30, output: 60 });
  expect(priceFor('some-new-model')).toEqual({ price: DEFAULT_PRICE, known: false });
  expect(costUsd('openai', 'some-new-model', { prompt: 1000, completion: 1000 })).toBeCloseTo(0.09, 12);
});

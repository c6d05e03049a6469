// What a generation cost, from the token usage the provider reported. Local models cost 0.
import type { Provider, Tokens } from '../../schemas.js';

export interface Price {
  /** USD per 1M input (prompt) tokens. */
  input: number;
  /** USD per 1M output (completion) tokens. */
  output: number;
}

/** When the table was taken from OpenAI's published list prices. Check it before trusting a budget. */
export const PRICE_TABLE_DATE = '2026';

export const PRICE_TABLE: Readonly<Record<string, Price>> = {
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2.0, output: 8.0 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4': { input: 30, output: 60 },
};

/**
 * An OpenAI(-compatible) model not in the table is charged at the most expensive listed price:
 * the budget guard must over-estimate rather than let an unknown model spend freely.
 */
export const DEFAULT_PRICE: Price = Object.values(PRICE_TABLE).reduce((a, b) =>
  b.input + b.output > a.input + a.output ? b : a,
);

/** The table key for a model name: `openai/` prefixes and date/version suffixes dropped. */
export function baseModel(model: string): string {
  return model
    .trim()
    .toLowerCase()
    .replace(/^openai\//, '')
    .replace(/-\d{4}-\d{2}-\d{2}$/, '') // gpt-4o-mini-2024-07-18
    .replace(/-\d{4}$/, ''); // gpt-4-0613
}

export function priceFor(model: string): { price: Price; known: boolean } {
  const known = PRICE_TABLE[model] ?? PRICE_TABLE[baseModel(model)];
  return known ? { price: known, known: true } : { price: DEFAULT_PRICE, known: false };
}

export function costUsd(provider: Provider, model: string, tokens: Tokens): number {
  if (provider !== 'openai') return 0;
  const { price } = priceFor(model);
  return (tokens.prompt * price.input + tokens.completion * price.output) / 1_000_000;
}

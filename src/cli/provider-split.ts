// The split of a finished batch by provider, for the terminal summary: workers, passed and cost
// per provider, and the local/paid shares (the original planned 90% OpenAI, 10% local). The same
// figures as the report's "Cost and tokens by provider" table.
import { readFile } from 'node:fs/promises';
import { formatLocalPaid, formatPercent, providerTotals, workersTotal } from '../report/format.js';
import type { Report } from '../schemas.js';

export function formatProviderSplit(report: Report): string[] {
  const totals = providerTotals(report);
  const all = workersTotal(totals);
  const rows = totals.map((t) => {
    const share = formatPercent(t.workers, all.workers);
    const cost = `$${t.costUsd.toFixed(4)}`;
    return `  ${t.provider.padEnd(9)} ${String(t.workers).padStart(5)} workers (${share}), ${t.passed} passed, ${cost}`;
  });
  return ['By provider:', ...rows, `  ${formatLocalPaid(totals)}`];
}

/** The split from the report file; nothing when it cannot be read (the summary line still says where it is). */
export async function providerSplitOf(reportPath: string): Promise<string[]> {
  try {
    return formatProviderSplit(JSON.parse(await readFile(reportPath, 'utf8')) as Report);
  } catch {
    return [];
  }
}

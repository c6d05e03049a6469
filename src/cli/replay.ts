// --replay-from BATCH_ID: reuse the code an earlier batch generated, for every worker whose
// instruction is unchanged since, instead of paying for a first generation again.
import { readFile } from 'node:fs/promises';
import { claimCheck } from '../activities/artifacts.js';
import { Report, type ManifestEntry } from '../schemas.js';

export async function applyReplay(
  entries: ManifestEntry[],
  reportPath: string,
): Promise<{ entries: ManifestEntry[]; reused: number }> {
  let report: Report;
  try {
    report = Report.parse(JSON.parse(await readFile(reportPath, 'utf8')));
  } catch (err) {
    throw new Error(`--replay-from: cannot read the earlier batch's report ${reportPath}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const previous = new Map(report.workers.map((w) => [w.id, w]));
  let reused = 0;
  const out = entries.map((e) => {
    const w = previous.get(e.id);
    if (!w?.outputRef || !w.provider || !w.model || w.instructionSha256 !== e.sha256) return e;
    reused += 1;
    return {
      ...e,
      replay: { outputRef: claimCheck(w.outputRef), provider: w.provider, model: w.model, savedUsd: w.costUsd },
    };
  });
  return { entries: out, reused };
}

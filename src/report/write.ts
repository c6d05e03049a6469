// Writes the human-readable reports next to the JSON one: `report.json` → `report.md` and
// `report.html` in the same directory. Each file is written to a temporary name and renamed, so a
// reader never sees half a report.
import path from 'node:path';
import { writeAtomic } from '../activities/write-atomic.js';
import type { Report } from '../schemas.js';
import type { RenderExtras } from './format.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

/**
 * Where the human reports of a JSON report go: its directory, its name with `.json` replaced
 * (`results/b1/report.json` → `report.md`, `report.html`). A name not ending in `.json` keeps its
 * extension and gets another one, so the JSON itself is never overwritten.
 */
export function humanReportPaths(reportPath: string): { markdown: string; html: string } {
  const dir = path.dirname(reportPath);
  const name = path.basename(reportPath);
  const stem = /\.json$/i.test(name) ? name.slice(0, -'.json'.length) : name;
  return { markdown: path.join(dir, `${stem}.md`), html: path.join(dir, `${stem}.html`) };
}

/** Renders and writes `report.md` and `report.html` next to `reportPath`; returns their paths. */
export async function writeHumanReports(
  reportPath: string,
  report: Report,
  extras: RenderExtras = {},
): Promise<{ markdown: string; html: string }> {
  const paths = humanReportPaths(reportPath);
  const markdown = renderMarkdown(report, extras);
  const html = renderHtml(report, extras);
  await writeAtomic(paths.markdown, markdown);
  await writeAtomic(paths.html, html);
  return paths;
}

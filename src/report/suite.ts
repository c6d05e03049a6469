// The whole suite's result (run once after the last worker) as the reports and the terminal show
// it, and what it means for start-batch's exit code: a failing suite fails the batch.
import { readFile } from 'node:fs/promises';
import { SuiteResult } from '../schemas.js';
import { escapeHtml as esc, formatInt, mdCell, mdCode, mdText } from './format.js';

/** Failed when it exited non-zero (pytest 5, "no tests collected", is not a failure) or counted a failure. */
export function suiteFailed(s: SuiteResult | null | undefined): boolean {
  if (!s) return false;
  return s.failed > 0 || s.errors > 0 || (s.exitCode !== 0 && s.exitCode !== 5);
}

/** One line for the terminal summary. */
export function suiteLine(s: SuiteResult): string {
  const verdict = suiteFailed(s) ? 'FAILED' : 'passed';
  const first = s.failures[0];
  const blame = first
    ? `; first: ${first.test}${first.workers.length > 0 ? ` (written by ${first.workers.join(', ')})` : ''}`
    : '';
  const counts = `${s.passed} passed, ${s.failed} failed, ${s.errors} errors`;
  return `Suite (${s.command}) ${verdict}: ${counts}, exit ${s.exitCode}${blame}`;
}

/** The suite recorded in a JSON report; null when the report has none (not run, or an older report). */
export async function readSuite(reportPath: string): Promise<SuiteResult | null> {
  try {
    const json = JSON.parse(await readFile(reportPath, 'utf8')) as { suite?: unknown };
    const parsed = SuiteResult.nullable().safeParse(json.suite ?? null);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

const row = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;

export function suiteMarkdown(s: SuiteResult | null | undefined): string[] {
  const out = ['## Whole suite', ''];
  if (!s) return [...out, 'Not run (`--no-suite`, or the batch aborted).', ''];
  out.push(
    `- **Command:** ${mdCode(s.command)} in the Python root`,
    `- **Result:** ${suiteFailed(s) ? '**FAILED**' : 'passed'} (exit ${s.exitCode}): ` +
      `${formatInt(s.passed)} passed, ${formatInt(s.failed)} failed, ${formatInt(s.errors)} errors`,
    '',
  );
  if (s.failures.length > 0) {
    out.push(row(['Test', 'Message', 'Written by']), row(['---', '---', '---']));
    for (const f of s.failures) {
      const writers = f.workers.length > 0 ? f.workers.map(mdCode).join(', ') : '—';
      out.push(row([mdCode(f.test), mdText(f.message), writers]));
    }
    out.push('');
  }
  return out;
}

export function suiteHtml(s: SuiteResult | null | undefined): string {
  const out = ['<section id="suite"><h2>Whole suite</h2>'];
  if (!s) {
    out.push('<p class="note">Not run (<code>--no-suite</code>, or the batch aborted).</p></section>');
    return out.join('');
  }
  const failed = suiteFailed(s);
  out.push(
    `<p><span class="badge status ${failed ? 's-bad' : 's-ok'}">${failed ? 'FAILED' : 'passed'}</span> ` +
      `<code>${esc(s.command)}</code> in the Python root: exit ${s.exitCode}, ` +
      `${formatInt(s.passed)} passed, ${formatInt(s.failed)} failed, ${formatInt(s.errors)} errors</p>`,
  );
  if (s.failures.length > 0) {
    out.push('<table><thead><tr><th>Test</th><th>Message</th><th>Written by</th></tr></thead><tbody>');
    for (const f of s.failures) {
      const writers = f.workers.length > 0 ? esc(f.workers.join(', ')) : '—';
      out.push(`<tr><td><code>${esc(f.test)}</code></td><td>${esc(f.message)}</td><td>${writers}</td></tr>`);
    }
    out.push('</tbody></table>');
  }
  out.push('</section>');
  return out.join('');
}

// Following a running batch in the terminal: one line redrawn in place on a TTY, a line per
// change otherwise (logs stay readable), JSON lines with --json.
import type { WorkflowHandle } from '@temporalio/client';
import { OUTCOMES, type Progress } from '../schemas.js';
import { progressQuery } from '../workflows/batch/messages.js';

export function formatProgress(p: Progress, now = Date.now()): string {
  const done = OUTCOMES.reduce((s, o) => s + p.counts[o], 0);
  const width = 24;
  const filled = p.total ? Math.round((done / p.total) * width) : width;
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const counts = OUTCOMES.filter((o) => p.counts[o] > 0).map((o) => `${o} ${p.counts[o]}`).join(' ');
  const elapsed = now - Date.parse(p.startedAt);
  const eta = done > 0 && done < p.total ? ` eta ${formatDuration((elapsed / done) * (p.total - done))}` : '';
  return `${bar} ${done}/${p.total} ${counts || 'starting'} | running ${p.running.length} | $${p.costUsd.toFixed(4)}${eta} | ${p.state}`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

/** Polls the batch's progress query until `stop` resolves. */
export async function follow(handle: WorkflowHandle, stop: Promise<unknown>, opts: { json: boolean; intervalMs?: number }): Promise<void> {
  const tty = process.stdout.isTTY && !opts.json;
  let last = '';
  let stopped = false;
  void stop.finally(() => (stopped = true)).catch(() => undefined);
  while (!stopped) {
    try {
      const p = await handle.query(progressQuery);
      const line = opts.json ? JSON.stringify(p) : formatProgress(p);
      if (tty) process.stdout.write(`\r\x1b[2K${line}`);
      else if (line !== last && stripEta(line) !== stripEta(last)) console.log(line);
      last = line;
    } catch {
      // The query fails while the worker is down (e.g. during a restart): keep following.
    }
    await Promise.race([stop, new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000))]).catch(() => undefined);
  }
  if (tty) process.stdout.write('\n');
}

const stripEta = (line: string) => line.replace(/ eta \S+/, '');

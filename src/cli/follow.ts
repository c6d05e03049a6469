// Following a running batch in the terminal: one line redrawn in place on a TTY, a line per
// change otherwise (logs stay readable), JSON lines with --json; a line per worker that ends badly.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { OUTCOMES, type InstructionResult, type Outcome, type Progress } from '../schemas.js';
import { BATCH_ID, OUTCOME } from '../temporal/search-attributes.js';
import { progressQuery } from '../workflows/batch/messages.js';
import { firstLine, type Terminal } from './terminal.js';
import { isServerUnreachable, type Reachability } from './wait-for-result.js';

export function formatProgress(p: Progress, now = Date.now()): string {
  const done = OUTCOMES.reduce((s, o) => s + p.counts[o], 0);
  const width = 24;
  const filled = p.total ? Math.round((done / p.total) * width) : width;
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const counts = OUTCOMES.filter((o) => p.counts[o] > 0)
    .map((o) => `${o} ${p.counts[o]}`)
    .join(' ');
  const elapsed = now - Date.parse(p.startedAt);
  const eta = done > 0 && done < p.total ? ` eta ${formatDuration((elapsed / done) * (p.total - done))}` : '';
  const cost = `$${p.costUsd.toFixed(4)}`;
  return `${bar} ${done}/${p.total} ${counts || 'starting'} | running ${p.running.length} | ${cost}${eta} | ${p.state}`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${s % 60}s`
      : `${s}s`;
}

/** Polls the batch's progress query until `stop` settles, noting each worker that ends badly. */
export async function follow(
  handle: WorkflowHandle,
  stop: Promise<unknown>,
  opts: {
    json: boolean;
    terminal: Terminal;
    reach: Reachability;
    client: Client;
    batchId: string;
    intervalMs?: number;
  },
): Promise<void> {
  const { terminal, reach } = opts;
  let last = '';
  let stopped = false;
  void stop.finally(() => (stopped = true)).catch(() => undefined);
  const badWorkers = new BadWorkerNotes(opts.client, opts.batchId, terminal);
  let polls = 0;
  while (!stopped) {
    try {
      const p = await handle.query(progressQuery);
      reach.ok();
      const line = opts.json ? JSON.stringify(p) : formatProgress(p);
      if (line !== last && stripEta(line) !== stripEta(last)) terminal.progressLine(line);
      else if (terminal.redraws()) terminal.progressLine(line);
      last = line;
      // Visibility is a list call: every few polls is soon enough for a line about a failure.
      if (polls++ % 3 === 0) await badWorkers.poll();
    } catch (err) {
      // The query fails while Temporal is down or restarting, or while no worker serves the batch: keep following.
      if (isServerUnreachable(err)) reach.lost();
    }
    await Promise.race([stop, new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000))]).catch(() => undefined);
  }
  await badWorkers.poll().catch(() => undefined);
  terminal.end();
}

const BAD: Outcome[] = ['failed', 'guide', 'llm_timeout', 'error'];

/** One line per worker of the batch that ended failed, guide, llm_timeout or error, with its error. */
class BadWorkerNotes {
  private readonly seen = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly batchId: string,
    private readonly terminal: Terminal,
  ) {}

  async poll(): Promise<void> {
    const outcomes = BAD.map((o) => `"${o}"`).join(', ');
    const query = `${BATCH_ID.name} = "${this.batchId}" AND ${OUTCOME.name} IN (${outcomes})`;
    for await (const w of this.client.workflow.list({ query })) {
      if (this.seen.has(w.workflowId)) continue;
      this.seen.add(w.workflowId);
      const outcome = w.searchAttributes?.[OUTCOME.name]?.[0] ?? 'ended badly';
      const id = w.workflowId.split('/').pop() ?? w.workflowId;
      const error = await this.errorOf(w.workflowId);
      this.terminal.note(`${id} ${String(outcome)}${error ? `: ${firstLine(error)}` : ''}`);
    }
  }

  private async errorOf(workflowId: string): Promise<string | null> {
    try {
      const result = (await Promise.race([
        this.client.workflow.getHandle(workflowId).result(),
        new Promise((r) => setTimeout(() => r(null), 2_000)),
      ])) as InstructionResult | null;
      return result?.error ?? null;
    } catch {
      return null;
    }
  }
}

const stripEta = (line: string) => line.replace(/ eta \S+/, '');

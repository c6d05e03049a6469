// What start-batch shows while it follows a batch: one progress line (redrawn in place on a TTY)
// and, above it, one short note per event a user must know about (a worker that ended badly, a
// provider that started failing, Temporal going away and coming back). Everything else the SDK
// and the worker say goes to the log file (src/temporal/runtime.ts).
import type { LogEntry } from '@temporalio/worker';

export class Terminal {
  private progress = '';
  private readonly tty: boolean;

  constructor(opts: { json: boolean }) {
    this.tty = Boolean(process.stdout.isTTY) && !opts.json;
  }

  /** Whether the progress line is redrawn in place (worth refreshing for its ETA even when counts did not change). */
  redraws(): boolean {
    return this.tty;
  }

  /** Replaces the progress line (a new line per change when the output is not a terminal). */
  progressLine(line: string): void {
    if (this.tty) process.stdout.write(`\r\x1b[2K${line}`);
    else console.log(line);
    this.progress = line;
  }

  /** One line above the progress line; on stderr, so --json output stays machine-readable. */
  note(line: string): void {
    if (this.tty && this.progress) process.stdout.write('\r\x1b[2K');
    process.stderr.write(`${line}\n`);
    if (this.tty && this.progress) process.stdout.write(this.progress);
  }

  /** Leaves the progress line behind before other output. */
  end(): void {
    if (this.tty && this.progress) process.stdout.write('\n');
    this.progress = '';
  }
}

const PROVIDER_OF: Record<string, string> = {
  generateOpenAI: 'openai',
  generateOllama: 'ollama',
  generateProcessor: 'processor',
};
/** A provider that has not failed for this long is taken as healthy again: its next failure is news. */
const QUIET_AFTER_MS = 60_000;

/**
 * Watches the in-process worker's log for LLM calls that fail (429, 5xx, timeouts: retried by
 * Temporal) and notes a provider once when it starts failing, not once per retry.
 */
export function providerFailureNotes(note: (line: string) => void, now = () => Date.now()): (entry: LogEntry) => void {
  const lastFailure = new Map<string, number>();
  return (entry) => {
    if (entry.level !== 'WARN' || entry.message !== 'Activity failed') return;
    const provider = PROVIDER_OF[String(entry.meta?.activityType ?? '')];
    if (!provider) return;
    const previous = lastFailure.get(provider);
    lastFailure.set(provider, now());
    if (previous !== undefined && now() - previous < QUIET_AFTER_MS) return;
    const error = entry.meta?.error;
    const message = error instanceof Error ? error.message : String(error ?? 'failed');
    note(`provider ${provider} is failing (${firstLine(message)}); Temporal retries it`);
  };
}

export function firstLine(text: string, max = 90): string {
  const line = text.split('\n')[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

// Ctrl-C as a clean detach: the first SIGINT (or SIGTERM) aborts a signal that start-batch
// watches (stop following, shut the worker down, stop its dev server, say how to resume); a
// second one exits at once, for a user who does not want to wait for any of that.
import os from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/**
 * One Ctrl-C can arrive more than once: the terminal sends it to the whole foreground group, and
 * `npm run` passes it on to its child as well. A repeat this soon is the same key press.
 */
const SAME_PRESS_MS = 500;

export class Interrupt {
  private readonly controller = new AbortController();
  private received: NodeJS.Signals | undefined;
  private receivedAt = 0;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor() {
    for (const sig of SIGNALS) {
      const handler = () => this.handle(sig);
      this.handlers.set(sig, handler);
      process.on(sig, handler);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The shell's code for death by that signal: 130 for SIGINT, 143 for SIGTERM. */
  exitCode(): number {
    return 128 + (os.constants.signals[this.received ?? 'SIGINT'] ?? 2);
  }

  dispose(): void {
    for (const [sig, handler] of this.handlers) process.off(sig, handler);
  }

  private handle(sig: NodeJS.Signals): void {
    if (this.received) {
      if (Date.now() - this.receivedAt < SAME_PRESS_MS) return;
      process.stderr.write(`\n${sig} again: exiting now.\n`);
      process.exit(this.exitCode());
    }
    this.received = sig;
    this.receivedAt = Date.now();
    process.stderr.write(`\n${sig}: detaching (again to exit at once)…\n`);
    this.controller.abort();
  }
}

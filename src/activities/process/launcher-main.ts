// The launcher process: starts the commands the worker asks for over IPC (see launcher.ts).
// When the worker goes away, so does everything started here.
import { startProcess, type RunOptions } from './process-run.js';

type Request = { id: number; argv: string[]; options: RunOptions } | { id: number; kill: true };

const running = new Map<number, () => void>();

process.on('message', (msg: Request) => {
  if ('kill' in msg) {
    running.get(msg.id)?.();
    return;
  }
  const { result, kill } = startProcess(msg.argv, msg.options);
  running.set(msg.id, kill);
  result
    .then(
      (r) => process.send?.({ id: msg.id, result: r }),
      (e: Error) => process.send?.({ id: msg.id, error: e.message }),
    )
    .finally(() => running.delete(msg.id));
});

process.on('disconnect', () => {
  for (const kill of running.values()) kill();
  process.exit(0);
});

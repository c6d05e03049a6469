// A stand-in for mem0's self-hosted REST server (no /v1 prefix, unlike the hosted platform):
//   POST /memories  {messages:[{role,content}], user_id, metadata}  -> {results:[{id, memory, event:'ADD'}]}
//   POST /search    {query, filters:{user_id}} (or top-level user_id) -> {results:[{id, memory, score, ...}]}
//   GET  /memories?user_id=...                                        -> {results:[...]}
// Errors in FastAPI's shape ({detail}). The X-API-Key header is recorded (and checked when apiKey is set).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

/** A scripted answer: consumed one per call, the last one repeats; the default is ok. */
export type Mem0Step =
  { ok: true; delayMs?: number } | { status: number; detail?: string; delayMs?: number } | { hang: true };

export interface Mem0Call {
  method: string;
  path: string;
  apiKey: string | null;
  body: unknown;
  status: number;
  at: number;
}

export interface Mem0Memory {
  id: string;
  memory: string;
  user_id: string | null;
  metadata: Record<string, unknown> | null;
  messages: Array<{ role: string; content: string }>;
  created_at: string;
}

export interface Mem0StandIn {
  url: string;
  calls: Mem0Call[];
  memories: Mem0Memory[];
  script(steps: Mem0Step[]): void;
  close(): Promise<void>;
}

function isMessages(v: unknown): v is Array<{ role: string; content: string }> {
  return (
    Array.isArray(v) &&
    v.every(
      (m) =>
        m &&
        typeof m === 'object' &&
        typeof (m as { role?: unknown }).role === 'string' &&
        typeof (m as { content?: unknown }).content === 'string',
    )
  );
}

export async function startMem0StandIn(opts: { apiKey?: string; port?: number } = {}): Promise<Mem0StandIn> {
  const calls: Mem0Call[] = [];
  const memories: Mem0Memory[] = [];
  let steps: Mem0Step[] = [];
  let next = 0;
  const timers = new Set<NodeJS.Timeout>();

  function send(res: http.ServerResponse, call: Mem0Call, status: number, body: unknown): void {
    if (res.destroyed) return;
    call.status = status;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  function handle(res: http.ServerResponse, call: Mem0Call, url: URL): void {
    const body = (call.body ?? {}) as Record<string, unknown>;
    const route = `${call.method} ${url.pathname}`;
    if (route === 'POST /memories') {
      if (!isMessages(body.messages)) {
        send(res, call, 422, { detail: [{ type: 'missing', loc: ['body', 'messages'], msg: 'Field required' }] });
        return;
      }
      const userId = typeof body.user_id === 'string' ? body.user_id : null;
      if (!userId && typeof body.agent_id !== 'string' && typeof body.run_id !== 'string') {
        send(res, call, 400, { detail: 'At least one identifier (user_id, agent_id, run_id) is required.' });
        return;
      }
      const mem: Mem0Memory = {
        id: randomUUID(),
        memory: body.messages.map((m) => m.content).join('\n'),
        user_id: userId,
        metadata:
          body.metadata && typeof body.metadata === 'object' ? (body.metadata as Record<string, unknown>) : null,
        messages: body.messages,
        created_at: new Date().toISOString(),
      };
      memories.push(mem);
      send(res, call, 200, { results: [{ id: mem.id, memory: mem.memory, event: 'ADD' }] });
      return;
    }
    if (route === 'POST /search') {
      if (typeof body.query !== 'string') {
        send(res, call, 422, { detail: [{ type: 'missing', loc: ['body', 'query'], msg: 'Field required' }] });
        return;
      }
      const filters = (body.filters ?? {}) as Record<string, unknown>;
      const userId =
        typeof filters.user_id === 'string' ? filters.user_id : typeof body.user_id === 'string' ? body.user_id : null;
      const terms = body.query.toLowerCase().split(/\W+/).filter(Boolean);
      const results = memories
        .filter((m) => userId === null || m.user_id === userId)
        .map((m) => ({
          m,
          score: terms.length ? terms.filter((t) => m.memory.toLowerCase().includes(t)).length / terms.length : 0,
        }))
        .filter((r) => r.score > 0)
        .sort((a, b) => b.score - a.score)
        .map(({ m, score }) => ({
          id: m.id,
          memory: m.memory,
          hash: m.id,
          metadata: m.metadata,
          score,
          created_at: m.created_at,
          updated_at: null,
          user_id: m.user_id,
        }));
      send(res, call, 200, { results });
      return;
    }
    if (route === 'GET /memories') {
      const userId = url.searchParams.get('user_id');
      if (!userId) {
        send(res, call, 400, { detail: 'At least one identifier is required.' });
        return;
      }
      send(res, call, 200, {
        results: memories.filter((m) => m.user_id === userId).map(({ messages: _m, ...rest }) => rest),
      });
      return;
    }
    send(res, call, 404, { detail: 'Not Found' });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://mem0');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        body = raw;
      }
      const key = req.headers['x-api-key'];
      const call: Mem0Call = {
        method: req.method ?? 'GET',
        path: url.pathname,
        apiKey: typeof key === 'string' ? key : null,
        body,
        status: 0,
        at: Date.now(),
      };
      calls.push(call);
      if (opts.apiKey !== undefined && call.apiKey !== opts.apiKey) {
        send(res, call, 401, { detail: 'Invalid API key' });
        return;
      }
      const step: Mem0Step = steps.length ? steps[Math.min(next++, steps.length - 1)]! : { ok: true };
      if ('hang' in step) return;
      const act = () =>
        'status' in step
          ? send(res, call, step.status, { detail: step.detail ?? 'Internal Server Error' })
          : handle(res, call, url);
      if (step.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          act();
        }, step.delayMs);
        timers.add(t);
      } else act();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    calls,
    memories,
    script(s) {
      steps = [...s];
      next = 0;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

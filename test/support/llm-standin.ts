// A local HTTP stand-in for the LLM providers, speaking their real wire formats so the real
// clients (openai SDK, undici) are what the tests exercise:
//   OpenAI     POST /v1/chat/completions  (chat.completion JSON; errors as {error:{message,type,code}})
//   Ollama     POST /api/generate, GET /api/tags  (errors as {error: "..."})
//   processor  POST /generate  (the original's body {prompt, model, max_tokens}; answers in Ollama's
//              shape unless a step picks another: text, content, OpenAI-like choices, or none known)
//   GET /      200 {status: "ok"}  (what a health check of the processor or the router sees)
// Scripted per worker: the worker id is the first WORKER_<n> in the prompt text.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInProvider = 'openai' | 'ollama' | 'processor';

/** The answer shapes a processor may use; `unknown` matches none the client accepts. */
export type ProcessorShape = 'response' | 'text' | 'content' | 'choices-message' | 'choices-text' | 'unknown';

interface Delay {
  /** Wait this long before answering (the request stays open; the client sees a slow model). */
  delayMs?: number;
  /** Why the model stopped: `length` is an answer cut off at the max tokens limit. Default `stop`. */
  finish?: 'stop' | 'length';
  /** The processor's answer shape (other providers ignore it). Default `response`. */
  shape?: ProcessorShape;
}
export type Step = Delay &
  (
    | { code: string; path?: string; lang?: string }
    | { files: Record<string, string> }
    | { guide: string }
    | { text: string }
    | { status: number; retryAfter?: number | string; retryAfterMs?: number; message?: string; errorCode?: string }
    /** true: never answer; 'body': send 200 headers and part of the body, then never finish. */
    | { hang: true | 'body' }
    /** Destroy the socket without answering (the client sees "other side closed"). */
    | { reset: true }
  );

/** A scripted answer, or a function of the request that picks one (e.g. from the prompt). */
export type ScriptStep = Step | ((call: FallbackCall) => Step);

export interface StandInCall {
  provider: StandInProvider;
  path: string;
  workerId: string | null;
  model: string | null;
  prompt: string;
  system: string | null;
  /**
   * Sampling settings as the request carried them (OpenAI `temperature`/`max_tokens`, Ollama
   * `options.temperature`/`options.num_predict`, processor `temperature`/`max_tokens`); null when absent.
   */
  temperature: number | null;
  maxTokens: number | null;
  /** The request body's keys, as sent. */
  keys: string[];
  authorization: string | null;
  /** HTTP status sent; 0 when none was (hang, reset, or the client went away first). */
  status: number;
  /** The connection closed before the answer was complete (client abort or timeout, or a reset step). */
  aborted: boolean;
  promptTokens: number;
  completionTokens: number;
  at: number;
}

export interface FallbackCall {
  provider: StandInProvider;
  workerId: string | null;
  model: string | null;
  prompt: string;
}

export interface LlmStandIn {
  url: string;
  openaiBaseUrl: string;
  port: number;
  calls: StandInCall[];
  script(workerId: string, steps: ScriptStep[], opts?: { provider?: StandInProvider }): void;
  fallback(fn: (call: FallbackCall) => Step): void;
  callsFor(workerId: string): StandInCall[];
  /** Forget scripts and calls (the server keeps running). */
  reset(): void;
  close(): Promise<void>;
}

export interface StandInOptions {
  port?: number;
  /** When set, OpenAI requests must carry `Authorization: Bearer <apiKey>` (else 401). */
  apiKey?: string;
  /** Models listed by GET /api/tags. */
  models?: string[];
}

const LANG_BY_EXT: Record<string, string> = {
  py: 'python',
  sh: 'bash',
  ts: 'typescript',
  js: 'javascript',
  md: 'markdown',
  json: 'json',
  toml: 'toml',
  yaml: 'yaml',
  yml: 'yaml',
};

export function langFor(path: string): string {
  return LANG_BY_EXT[path.split('.').pop()?.toLowerCase() ?? ''] ?? 'text';
}

export function fence(code: string, lang: string, path?: string): string {
  const body = code.endsWith('\n') ? code : `${code}\n`;
  return `\`\`\`${lang}${path ? ` path=${path}` : ''}\n${body}\`\`\`\n`;
}

/** The completion text a content step produces. */
export function contentOf(step: Step): string | undefined {
  if ('code' in step) return fence(step.code, step.lang ?? (step.path ? langFor(step.path) : 'python'), step.path);
  if ('files' in step)
    return Object.entries(step.files)
      .map(([p, c]) => fence(c, langFor(p), p))
      .join('\n');
  if ('guide' in step) return step.guide;
  if ('text' in step) return step.text;
  return undefined;
}

export const words = (s: string): number => s.split(/\s+/).filter(Boolean).length;

const OPENAI_ERRORS: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request.' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  403: {
    type: 'invalid_request_error',
    code: 'unsupported_country_region_territory',
    message: 'Country, region, or territory not supported',
  },
  404: {
    type: 'invalid_request_error',
    code: 'model_not_found',
    message: 'The model does not exist or you do not have access to it.',
  },
  429: {
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests. Please try again later.',
  },
  500: {
    type: 'server_error',
    code: null,
    message: 'The server had an error while processing your request. Sorry about that!',
  },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
};

interface Parsed {
  provider: StandInProvider;
  model: string | null;
  prompt: string;
  system: string | null;
  stream: boolean;
  temperature: number | null;
  maxTokens: number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((p) =>
        p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string'
          ? (p as { text: string }).text
          : '',
      )
      .join('\n');
  return '';
}

function parseBody(provider: StandInProvider, body: Record<string, unknown>): Parsed {
  const model = typeof body.model === 'string' ? body.model : null;
  if (provider === 'openai') {
    const messages = Array.isArray(body.messages)
      ? (body.messages as Array<{ role?: unknown; content?: unknown }>)
      : [];
    const of = (role: string) =>
      messages
        .filter((m) => m.role === role)
        .map((m) => textOf(m.content))
        .join('\n');
    return {
      provider,
      model,
      prompt: of('user'),
      system: of('system') || null,
      stream: body.stream === true,
      temperature: num(body.temperature),
      maxTokens: num(body.max_tokens),
    };
  }
  const options = body.options && typeof body.options === 'object' ? (body.options as Record<string, unknown>) : {};
  return {
    provider,
    model,
    prompt: typeof body.prompt === 'string' ? body.prompt : '',
    system: typeof body.system === 'string' ? body.system : null,
    stream: body.stream !== false, // Ollama streams unless told not to
    temperature: provider === 'ollama' ? num(options.temperature) : num(body.temperature),
    maxTokens: provider === 'ollama' ? num(options.num_predict) : num(body.max_tokens),
  };
}

/** A processor's answer in one of the shapes it may use, with OpenAI-like usage where the shape is OpenAI-like. */
function processorAnswer(
  shape: ProcessorShape,
  call: StandInCall,
  content: string,
  finish: string,
): Record<string, unknown> {
  const usage = {
    prompt_tokens: call.promptTokens,
    completion_tokens: call.completionTokens,
    total_tokens: call.promptTokens + call.completionTokens,
  };
  const model = call.model ?? 'codellama:13b';
  switch (shape) {
    case 'text':
      return { model, text: content, finish_reason: finish, usage };
    case 'content':
      return { model, content, finish_reason: finish, usage };
    case 'choices-message':
      return {
        id: `cmpl-standin${++seqShapes}`,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish }],
        usage,
      };
    case 'choices-text':
      return {
        id: `cmpl-standin${++seqShapes}`,
        model,
        choices: [{ index: 0, text: content, finish_reason: finish }],
        usage,
      };
    default:
      return { model, output: content, status: 'done' };
  }
}
let seqShapes = 0;

export async function startLlmStandIn(opts: StandInOptions = {}): Promise<LlmStandIn> {
  const scripts = new Map<string, { steps: ScriptStep[]; next: number }>();
  let fallbackFn: (call: FallbackCall) => Step = (c) => ({
    code: `# ${c.workerId ?? 'unknown worker'}\ndef ok():\n    return True\n`,
  });
  const calls: StandInCall[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let seq = 0;

  function nextStep(p: Parsed, workerId: string | null): Step {
    const entry = (workerId && (scripts.get(`${p.provider}:${workerId}`) ?? scripts.get(`*:${workerId}`))) || undefined;
    if (!entry || entry.steps.length === 0)
      return fallbackFn({ provider: p.provider, workerId, model: p.model, prompt: p.prompt });
    const step = entry.steps[Math.min(entry.next, entry.steps.length - 1)]!;
    entry.next++;
    return typeof step === 'function'
      ? step({ provider: p.provider, workerId, model: p.model, prompt: p.prompt })
      : step;
  }

  function sendJson(
    res: http.ServerResponse,
    call: StandInCall,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.destroyed) return;
    call.status = status;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  function sendError(
    res: http.ServerResponse,
    call: StandInCall,
    provider: StandInProvider,
    step: { status: number; retryAfter?: number | string; retryAfterMs?: number; message?: string; errorCode?: string },
    authorization: string | null,
  ): void {
    const headers: Record<string, string> = {};
    if (step.retryAfter !== undefined) headers['retry-after'] = String(step.retryAfter);
    if (step.retryAfterMs !== undefined) headers['retry-after-ms'] = String(step.retryAfterMs);
    const known = OPENAI_ERRORS[step.status] ?? {
      type: step.status >= 500 ? 'server_error' : 'invalid_request_error',
      code: null,
      message: `HTTP ${step.status}`,
    };
    let message = step.message ?? known.message;
    // A careless proxy echoes the key it was given: the client must never repeat it.
    if (step.status === 401 && !step.message)
      message = `Incorrect API key provided: ${authorization?.replace(/^Bearer\s+/i, '') ?? '(none)'}.`;
    if (step.status === 404 && !step.message)
      message =
        provider === 'openai'
          ? `The model \`${call.model}\` does not exist or you do not have access to it.`
          : `model "${call.model}" not found, try pulling it first`;
    if (provider === 'openai')
      sendJson(
        res,
        call,
        step.status,
        { error: { message, type: known.type, param: null, code: step.errorCode ?? known.code } },
        headers,
      );
    else sendJson(res, call, step.status, { error: message }, headers);
  }

  function answer(res: http.ServerResponse, call: StandInCall, content: string, step: Step): void {
    call.completionTokens = words(content);
    const finish = step.finish ?? 'stop';
    if (call.provider === 'processor' && step.shape && step.shape !== 'response') {
      sendJson(res, call, 200, processorAnswer(step.shape, call, content, finish));
      return;
    }
    if (call.provider === 'openai') {
      sendJson(res, call, 200, {
        id: `chatcmpl-standin${++seq}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: call.model ?? 'gpt-4o-mini',
        choices: [
          { index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finish },
        ],
        usage: {
          prompt_tokens: call.promptTokens,
          completion_tokens: call.completionTokens,
          total_tokens: call.promptTokens + call.completionTokens,
        },
        system_fingerprint: 'fp_standin',
      });
    } else {
      sendJson(res, call, 200, {
        model: call.model ?? 'qwen2.5-coder:7b',
        created_at: new Date().toISOString(),
        response: content,
        done: true,
        done_reason: finish,
        context: [],
        total_duration: 1_000_000,
        load_duration: 1000,
        prompt_eval_count: call.promptTokens,
        prompt_eval_duration: 1000,
        eval_count: call.completionTokens,
        eval_duration: 1000,
      });
    }
  }

  function play(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    call: StandInCall,
    step: Step,
    authorization: string | null,
  ): void {
    if ('hang' in step) {
      if (step.hang === 'body') {
        call.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":"chatcmpl-hang","choices":[');
      }
      return; // never finishes; close() or the client ends it
    }
    if ('reset' in step) {
      req.socket.destroy();
      return;
    }
    if ('status' in step) {
      sendError(res, call, call.provider, step, authorization);
      return;
    }
    answer(res, call, contentOf(step) ?? '', step);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const route = `${req.method} ${url.pathname}`;
      if (route === 'GET /') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
        return;
      }
      if (route === 'GET /api/tags') {
        const models = (opts.models ?? ['qwen2.5-coder:7b']).map((name) => ({
          name,
          model: name,
          modified_at: new Date(0).toISOString(),
          size: 0,
          digest: 'standin',
          details: { format: 'gguf', family: 'standin' },
        }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ models }));
        return;
      }
      const provider: StandInProvider | undefined =
        route === 'POST /v1/chat/completions'
          ? 'openai'
          : route === 'POST /api/generate'
            ? 'ollama'
            : route === 'POST /generate'
              ? 'processor'
              : undefined;
      if (!provider) {
        const isOpenAi = url.pathname.startsWith('/v1/');
        const body = isOpenAi
          ? { error: { message: `Invalid URL (${route})`, type: 'invalid_request_error', param: null, code: null } }
          : { error: `404 page not found` };
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid JSON body' }));
        return;
      }
      const parsed = parseBody(provider, body);
      const workerId = /WORKER_\d+/.exec(parsed.prompt)?.[0] ?? null;
      const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : null;
      const call: StandInCall = {
        provider,
        path: url.pathname,
        workerId,
        model: parsed.model,
        prompt: parsed.prompt,
        system: parsed.system,
        temperature: parsed.temperature,
        maxTokens: parsed.maxTokens,
        keys: Object.keys(body),
        authorization,
        status: 0,
        aborted: false,
        promptTokens: words(parsed.prompt) + words(parsed.system ?? ''),
        completionTokens: 0,
        at: Date.now(),
      };
      calls.push(call);
      res.on('close', () => {
        if (!res.writableFinished) call.aborted = true;
      });

      if (provider === 'openai' && opts.apiKey !== undefined && authorization !== `Bearer ${opts.apiKey}`) {
        sendError(res, call, provider, { status: 401 }, authorization);
        return;
      }
      if (parsed.stream) {
        // The activities never stream; a streaming request is a client bug worth failing loudly.
        sendError(res, call, provider, { status: 400, message: 'stand-in: streaming is not supported' }, authorization);
        return;
      }
      const step = nextStep(parsed, workerId);
      const delay = step.delayMs ?? 0;
      if (delay > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) play(req, res, call, step, authorization);
        }, delay);
        timers.add(timer);
      } else play(req, res, call, step, authorization);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    port,
    calls,
    script(workerId, steps, o = {}) {
      scripts.set(`${o.provider ?? '*'}:${workerId}`, { steps: [...steps], next: 0 });
    },
    fallback(fn) {
      fallbackFn = fn;
    },
    callsFor(workerId) {
      return calls.filter((c) => c.workerId === workerId);
    },
    reset() {
      scripts.clear();
      calls.length = 0;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // ends hung requests too
      await closed;
    },
  };
}

// Guide detection: did the LLM write the files, or a guide about writing them (prose, snippets,
// to-do markers)? Code comes from fenced blocks only (remark), matched to deliverables; a guide is an
// answer that leaves a deliverable without usable code, or whose prose dominates.
import path from 'node:path';
import { unified } from 'unified';
import type { Nodes, Root } from 'mdast';
import remarkParse from 'remark-parse';
import type { ArtifactStore } from './artifacts.js';
import { sha256 } from './artifacts.js';
import type { Config } from '../config.js';
import type { Blob, FileRef, Inspection } from '../schemas.js';
import { checkBash, checkPython, realPython, type PySyntax } from './process/python.js';

export const MAX_OUTPUT_BYTES = 1024 * 1024;

interface Block {
  lang: string;
  /** Path named by the info string or by a `# File: path` first line, if any. */
  named?: string;
  /** The first line is only that path comment. */
  pathLine?: boolean;
  code: string;
  start: number;
  end: number;
}

interface Extracted {
  /** Deliverable -> its code (normalised to end with a newline). */
  files: Map<string, string>;
  missing: string[];
  prose: Array<{ label: string; count: number }>;
  proseHits: number;
  proseChars: number;
  codeChars: number;
  /** Set when the output is refused without looking further (empty, too large). */
  refused?: string;
}

export type SyntaxReport = Record<string, PySyntax>;
export type TextInspection = Inspection & { contents: Record<string, string> };

const PROSE_MARKERS: Array<[RegExp, string]> = [
  [/\bStep\s+\d+\s*[:.)]/gi, 'Step N:'],
  [/\byou should\b/gi, 'you should'],
  [/\byou(?:'ll| will) need to\b/gi, "you'll need to"],
  [/\byou can\b/gi, 'you can'],
  [/\byou could\b/gi, 'you could'],
  [/\bhere(?:'s| is) how\b/gi, "Here's how"],
  [/\bhere(?:'s| is) a (?:step-by-step )?guide\b/gi, 'here is a guide'],
  [/(?:^|[.!?:]\s+|\n\s*)Next,\s/g, 'Next, '],
  [/\bfollow(?:ing)? these steps\b/gi, 'follow these steps'],
  [/\b(?:TODO|FIXME)\b/g, 'TODO'],
];

const IMPLEMENT_HERE =
  /\b(?:implement (?:this|me|here)|implementation goes here|add (?:your |the )?(?:logic|code|implementation) here)\b/i;
// One regex, built in two parts only to keep the line short.
const REST_UNCHANGED = new RegExp(
  String.raw`\b(?:rest of (?:the )?(?:code|file|implementation|methods)|existing code) ` +
    String.raw`(?:unchanged|remains|stays|as before|here)\b`,
  'i',
);

// In code: unfinished work or elided parts. TODO counts only inside a comment or docstring,
// so a scanner looking for the string "TODO" is not mistaken for one.
const CODE_MARKERS: Array<[RegExp, string]> = [
  [/(?:#|\/\/|\/\*|"""|''')[^\n]*\b(?:TODO|FIXME)\b|^\s*(?:TODO|FIXME)\b/m, 'TODO/FIXME'],
  [/\byour (?:code|implementation|logic) (?:goes )?here\b/i, 'your code here'],
  [IMPLEMENT_HERE, 'implement this'],
  [
    /^\s*(?:#|\/\/)\s*\.\.\.\s*(?:\(?\s*(?:rest|existing|remaining|other|more|previous|same|unchanged|etc)\b.*)?$/im,
    'elided code (# ...)',
  ],
  [REST_UNCHANGED, 'elided code (rest unchanged)'],
];

function blocksOf(text: string): Block[] {
  const out: Block[] = [];
  const visit = (node: Nodes): void => {
    if (node.type === 'code') {
      const start = node.position?.start.offset ?? 0;
      // Indented code is how prose lists get misread; only fences count.
      if (!/^(?:`{3,}|~{3,})/.test(text.slice(start, start + 3))) return;
      const info = infoOf(node.lang ?? '', node.meta ?? '');
      const lineNamed = firstLinePath(node.value);
      out.push({
        lang: info.lang,
        named: info.path ?? lineNamed,
        pathLine: !!lineNamed,
        code: node.value,
        start,
        end: node.position?.end.offset ?? text.length,
      });
    } else if ('children' in node) {
      for (const child of node.children) visit(child);
    }
  };
  visit(unified().use(remarkParse).parse(text) as Root);
  return out;
}

/** `python path=a/b.py`, `python file="a/b.py"`, `python:a/b.py`, `a/b.py`, `python a/b.py`. */
function infoOf(lang: string, meta: string): { lang: string; path?: string } {
  const kv = /(?:^|\s)(?:path|file|filename|title)\s*=\s*(?:"([^"]+)"|'([^']+)'|(\S+))/i.exec(`${lang} ${meta}`);
  let l = lang;
  let p: string | undefined;
  if (l.includes(':')) [l, p] = [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)];
  else if (looksLikePath(l)) [l, p] = ['', l];
  if (kv) p = kv[1] ?? kv[2] ?? kv[3];
  else if (!p && looksLikePath(meta.trim())) p = meta.trim();
  if (/^(?:path|file|filename|title)=/i.test(l)) l = '';
  return { lang: l.toLowerCase(), path: p ? normalise(p) : undefined };
}

function looksLikePath(s: string): boolean {
  return /^[\w./-]*[\w-]\.[A-Za-z0-9]+$/.test(s) && !/^\d/.test(s);
}

function firstLinePath(code: string): string | undefined {
  const first = code.split('\n', 1)[0] ?? '';
  const m = /^\s*(?:#|\/\/|--)\s*(?:file(?:name)?\s*:\s*)?`?([\w./-]+\.[A-Za-z0-9]+)`?\s*$/i.exec(first);
  return m?.[1] ? normalise(m[1]) : undefined;
}

function normalise(p: string): string {
  return p.replace(/\\/g, '/').replace(/^\.\//, '');
}

/** The deliverable a path names: exactly, or as a suffix (relative to the Python root), if unique. */
function deliverableFor(named: string, deliverables: string[]): string | undefined {
  if (deliverables.includes(named)) return named;
  const hits = deliverables.filter((d) => d.endsWith(`/${named}`) || named.endsWith(`/${d}`));
  return hits.length === 1 ? hits[0] : undefined;
}

const LANGS: Record<string, string[]> = {
  '.py': ['python', 'py', 'python3'],
  '.sh': ['bash', 'sh', 'shell', 'zsh'],
};
function fits(block: Block, deliverable: string): boolean {
  if (block.lang === '') return true;
  const ext = path.extname(deliverable).toLowerCase();
  return (LANGS[ext] ?? [ext.slice(1)]).includes(block.lang);
}

function extract(raw: string, deliverables: string[]): Extracted {
  const bytes = Buffer.byteLength(raw);
  const base = {
    files: new Map<string, string>(),
    missing: [...deliverables],
    prose: [],
    proseHits: 0,
    proseChars: 0,
    codeChars: 0,
  };
  if (raw.trim() === '') return { ...base, refused: 'empty output' };
  if (bytes > MAX_OUTPUT_BYTES) return { ...base, refused: `output larger than 1 MB (${bytes} bytes)` };
  // Reasoning models (qwen, deepseek via Ollama) think aloud first: that is not the answer.
  const text = raw.replace(/<think>[\s\S]*?<\/think>/g, '');

  let blocks = blocksOf(text);
  // A bare answer (no fences at all) for one file: take it whole if it starts like code.
  const only = deliverables.length === 1 ? deliverables[0] : undefined;
  if (blocks.length === 0 && only && /^\s*(?:#!|import |from \S+ import |def |class |@\w|""")/.test(text)) {
    blocks = [{ lang: '', code: text.trim(), start: 0, end: text.length }];
  }

  const assigned = new Map<string, Block>();
  const used = new Set<Block>();
  const take = (d: string, b: Block): void => {
    assigned.set(d, b); // a later block for the same file is the LLM's correction: it wins
    used.add(b);
  };
  // 1. Named by the info string or the first line; 2. named by the line just before the fence.
  for (const b of blocks) {
    const d = b.named ? deliverableFor(b.named, deliverables) : undefined;
    if (d) take(d, b);
  }
  let prevEnd = 0;
  for (const b of blocks) {
    if (!used.has(b) && !b.named) {
      const lead = text.slice(prevEnd, b.start).trim().split('\n').pop() ?? '';
      const named = [
        ...new Set(
          (lead.match(/[\w./-]+\.[A-Za-z0-9]+/g) ?? []).map((t) => deliverableFor(normalise(t), deliverables)),
        ),
      ].filter((d): d is string => !!d);
      if (named.length === 1 && named[0] && !assigned.has(named[0])) take(named[0], b);
    }
    prevEnd = b.end;
  }
  // 3. One deliverable of its kind left and one (or one clearly main) block that fits it.
  for (const d of deliverables.filter((x) => !assigned.has(x))) {
    const sameKind = deliverables.filter((x) => !assigned.has(x) && path.extname(x) === path.extname(d));
    if (sameKind.length !== 1) continue;
    const candidates = blocks
      .filter((b) => !used.has(b) && !b.named && fits(b, d))
      .sort((a, b) => b.code.length - a.code.length);
    const [first, second] = candidates;
    if (first && (!second || first.code.length >= 3 * second.code.length)) take(d, first);
  }

  const files = new Map<string, string>();
  for (const d of deliverables) {
    const b = assigned.get(d);
    // A `# path` line above a shebang would stop the shebang from working: drop it.
    const code = b?.pathLine && /^[^\n]*\n#!/.test(b.code) ? b.code.slice(b.code.indexOf('\n') + 1) : b?.code;
    if (code && code.trim() !== '') files.set(d, code.endsWith('\n') ? code : `${code}\n`);
  }

  let prose = '';
  let at = 0;
  for (const b of blocks) {
    prose += `${text.slice(at, b.start)}\n`;
    at = Math.max(at, b.end);
  }
  prose += text.slice(at);
  const found = PROSE_MARKERS.map(([re, label]) => ({ label, count: prose.match(re)?.length ?? 0 })).filter(
    (m) => m.count > 0,
  );
  return {
    files,
    missing: deliverables.filter((d) => !files.has(d)),
    prose: found,
    proseHits: found.reduce((n, m) => n + m.count, 0),
    proseChars: prose.replace(/\s+/g, ' ').trim().length,
    codeChars: blocks.reduce((n, b) => n + b.code.length, 0),
  };
}

function judge(ex: Extracted, syntax: SyntaxReport): { guide: boolean; markers: string[] } {
  if (ex.refused) return { guide: true, markers: [ex.refused] };
  const markers: string[] = ex.missing.map((d) => `no code for ${d}`);
  for (const [file, code] of ex.files) {
    for (const [re, label] of CODE_MARKERS) if (re.test(code)) markers.push(`${label} in ${file}`);
    const s = syntax[file];
    if (s?.error) markers.push(`${file} does not parse: ${s.error}`);
    for (const p of s?.placeholders ?? []) markers.push(`placeholder in ${file}: ${p}`);
  }
  const proseDominates = ex.proseHits >= 2 && ex.proseChars > ex.codeChars;
  if (proseDominates) {
    markers.push(...ex.prose.map((m) => `prose: "${m.label}"${m.count > 1 ? ` x${m.count}` : ''}`));
    markers.push(`prose (${ex.proseChars} chars) outweighs code (${ex.codeChars} chars)`);
  }
  return markers.length > 0 ? { guide: true, markers } : { guide: false, markers: [] };
}

function toCheck(files: Map<string, string>): {
  py: Record<string, string>;
  sh: Array<[string, string]>;
  json: Array<[string, string]>;
} {
  const py: Record<string, string> = {};
  const sh: Array<[string, string]> = [];
  const json: Array<[string, string]> = [];
  for (const [file, code] of files) {
    const ext = path.extname(file).toLowerCase();
    if (ext === '.py') py[file] = code;
    else if (ext === '.sh' || ext === '.bash') sh.push([file, code]);
    else if (ext === '.json') json.push([file, code]);
  }
  return { py, sh, json };
}

function jsonError(code: string): string | null {
  try {
    JSON.parse(code);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function result(ex: Extracted, syntax: SyntaxReport): TextInspection {
  const verdict = judge(ex, syntax);
  const contents = Object.fromEntries(ex.files);
  const files: FileRef[] = [...ex.files].map(([p, code]) => ({ path: p, ref: sha256(code) }));
  return { ...verdict, files, contents };
}

/**
 * Inspects an LLM answer: which files it holds, and whether it is code or a guide.
 * `files[].ref` is the sha256 of each file's code; the code itself is in `contents`.
 */
export async function inspectText(
  text: string,
  deliverables: string[],
  opts: { python?: string } = {},
): Promise<TextInspection> {
  const ex = extract(text, deliverables);
  const { py, sh, json } = toCheck(ex.files);
  const [pySyntax, shErrors] = await Promise.all([
    Object.keys(py).length > 0
      ? checkPython(py, await realPython(opts.python ?? process.env.WINGMAN_PYTHON ?? 'python3'))
      : Promise.resolve({} as SyntaxReport),
    Promise.all(sh.map(([, code]) => checkBash(code))),
  ]);
  const syntax: SyntaxReport = { ...pySyntax };
  sh.forEach(([file], i) => (syntax[file] = { error: shErrors[i] ?? null, placeholders: [] }));
  for (const [file, code] of json) syntax[file] = { error: jsonError(code), placeholders: [] };
  return result(ex, syntax);
}

/** The activity: reads the answer from the store, inspects it, stores each matched file's code. */
export async function inspectOutput(
  deps: { config: Config; store: ArtifactStore },
  req: { outputRef: Blob; deliverables: string[] },
): Promise<Inspection> {
  const text = await deps.store.readBlob(req.outputRef);
  await deps.store.put(text); // `--replay-from` finds this worker's answer here by its sha256
  const { contents, ...inspection } = await inspectText(text, req.deliverables, { python: deps.config.WINGMAN_PYTHON });
  for (const code of Object.values(contents)) await deps.store.put(code);
  return inspection;
}

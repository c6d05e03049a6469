// Reads one worker instruction (markdown in the 10-point framework) into an Instruction.
// Instructions are written by hand, so headings and lists vary; anything this cannot make
// sense of is refused with an InstructionError that says what to fix.
import { readFile } from 'node:fs/promises';
import type { Nodes, Root, RootContent } from 'mdast';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import { Instruction } from './schema.js';
import type { Provider } from '../schemas.js';

export class InstructionError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'InstructionError';
  }
}

/** Larger than any real instruction: a file this big is a mistake, and it would go into a prompt. */
export const MAX_INSTRUCTION_BYTES = 256 * 1024;
// remark's time grows faster than linearly with nesting (5,000 nested `- ` take seconds), and
// no real instruction nests lists or quotes this deep: refuse such input before parsing it.
const MAX_NESTING = 32;
const MAX_INDENT = 200;

/** Decodes bytes as UTF-8, refusing invalid sequences instead of replacing them. */
export function decodeInstruction(bytes: Uint8Array, file: string): string {
  if (bytes.length > MAX_INSTRUCTION_BYTES)
    throw new InstructionError(file, `file is larger than ${MAX_INSTRUCTION_BYTES} bytes`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InstructionError(file, 'not valid UTF-8 (save the file as UTF-8)');
  }
}

export async function parseInstructionFile(file: string): Promise<Instruction> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new InstructionError(file, `cannot read the file: ${(e as Error).message}`);
  }
  return parseInstruction(bytes, file);
}

/**
 * The instructions parsed last, by file and text: one worker's prompt, criteria check and
 * retrospective each read the same instruction, and parsing Markdown is the costly part.
 * Callers only read what they get.
 */
const recent = new Map<string, Instruction>();
const RECENT_MAX = 256;

export function parseInstruction(input: string | Uint8Array, file: string): Instruction {
  const text = typeof input === 'string' ? input.replace(/^\uFEFF/, '') : decodeInstruction(input, file);
  const key = `${file}\0${text}`;
  const known = recent.get(key);
  if (known) return known;
  try {
    const parsed = parseText(text, file);
    recent.set(key, parsed);
    if (recent.size > RECENT_MAX) recent.delete(recent.keys().next().value!);
    return parsed;
  } catch (e) {
    if (e instanceof InstructionError) throw e;
    // remark or a deep document blowing the stack: still the caller's one error type.
    throw new InstructionError(file, `cannot read the markdown: ${(e as Error)?.message ?? String(e)}`);
  }
}

interface Section {
  nodes: RootContent[];
  raw: string[];
}

function checkShape(text: string, file: string): void {
  if (text.trim() === '') throw new InstructionError(file, 'file is empty');
  if (text.length > MAX_INSTRUCTION_BYTES)
    throw new InstructionError(file, `file is larger than ${MAX_INSTRUCTION_BYTES} bytes`);
  for (const [n, line] of text.split('\n').entries()) {
    const indent = /^[ \t]*/.exec(line)![0].replace(/\t/g, '    ').length;
    const prefix = /^(?:[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t])))*/.exec(line)![0];
    const depth = prefix.match(/>|[-*+]|\d{1,9}[.)]/g)?.length ?? 0;
    if (indent > MAX_INDENT || depth > MAX_NESTING) {
      throw new InstructionError(
        file,
        `line ${n + 1} is nested too deeply ` +
          `(more than ${MAX_NESTING} lists or quotes, or ${MAX_INDENT} columns of indentation)`,
      );
    }
  }
}

// One frozen processor for every file: building it costs twice the parse of a whole instruction,
// which a 50,000-instruction plan pays 50,000 times.
const markdown = unified().use(remarkParse).freeze();

function parseText(text: string, file: string): Instruction {
  checkShape(text, file);
  const root = markdown.parse(text) as Root;

  let title: string | null = null;
  const sections = new Map<string, Section>();
  let current: Section | null = null;
  const children = root.children;
  for (const [i, node] of children.entries()) {
    // The title is an H1 before the first section; a later `# ...` (a shell comment written
    // as prose, say) is content of its section.
    if (node.type === 'heading' && node.depth === 1 && sections.size === 0) {
      title ??= inlineText(node, false).trim();
      continue;
    }
    if (node.type === 'heading' && node.depth === 2) {
      const name = sectionName(inlineText(node, false));
      current = sections.get(name) ?? { nodes: [], raw: [] };
      sections.set(name, current);
      // Raw text runs from the end of the heading to the start of the next H2.
      const next = children.slice(i + 1).find((n) => n.type === 'heading' && n.depth === 2);
      const start = node.position?.end.offset ?? 0;
      const end = next?.position?.start.offset ?? text.length;
      current.raw.push(text.slice(start, end).trim());
      continue;
    }
    current?.nodes.push(node);
  }

  const { id, name } = identify(title, file);
  const deliverablesSection = sections.get('DELIVERABLES');
  if (!deliverablesSection)
    throw new InstructionError(file, 'no DELIVERABLES section (expected a heading like `## 1. DELIVERABLES`)');
  const deliverables = unique(
    descendants(deliverablesSection.nodes)
      .filter((n) => n.type === 'inlineCode')
      .map((n) => (n as { value: string }).value.trim())
      .filter(looksLikeFilePath),
  );
  if (deliverables.length === 0) {
    throw new InstructionError(file, 'DELIVERABLES names no file path (write it in backticks, e.g. `wingman/x.py`)');
  }

  const classification = sections.get('TASK_CLASSIFICATION');
  const classText = classification ? blockLines(classification.nodes).join('\n') : '';
  const instruction = {
    id,
    name,
    file,
    sections: Object.fromEntries([...sections].map(([k, s]) => [k, s.raw.join('\n\n')])),
    deliverables,
    successCriteria: criteria(sections.get('SUCCESS_CRITERIA')?.nodes ?? []),
    dependencies: unique(
      [...(sections.get('DEPENDENCIES')?.raw.join('\n') ?? '').matchAll(/\bWORKER_(\d+)\b/gi)].map(
        (m) => `WORKER_${m[1]}`,
      ),
    ),
    testCommands: testCommands(sections.get('TEST_PROCESS')?.nodes ?? []),
    provider: provider(classText, file),
    classification: { type: field(classText, 'type'), complexity: field(classText, 'complexity') },
  };
  const checked = Instruction.safeParse(instruction);
  if (!checked.success)
    throw new InstructionError(file, `invalid instruction: ${checked.error.issues.map((i) => i.message).join('; ')}`);
  return checked.data;
}

/** `1. Success criteria:` -> `SUCCESS_CRITERIA`. */
export function sectionName(heading: string): string {
  return heading
    .trim()
    .replace(/^\d+\s*[.)]?\s*/, '')
    .replace(/:\s*$/, '')
    .trim()
    .toUpperCase()
    .replace(/[\s-]+/g, '_');
}

function identify(title: string | null, file: string): { id: string; name: string } {
  const m = title ? /^(WORKER_\d+)\b\s*[:.\-–—]?\s*(.*)$/i.exec(title) : null;
  if (m) {
    const id = m[1]!.toUpperCase();
    return { id, name: m[2]!.trim() || id };
  }
  const base = file.split(/[\\/]/).pop() ?? file;
  const fromName = /WORKER_\d+/i.exec(base);
  if (!fromName) {
    throw new InstructionError(
      file,
      'no worker id: start the file with a heading like `# WORKER_013: Name` (the file name has no WORKER_NNN either)',
    );
  }
  const id = fromName[0].toUpperCase();
  return { id, name: title || id };
}

const BARE_EXTENSIONS = new Set(
  (
    'py pyi pyx ipynb sh bash zsh ps1 bat md rst txt adoc json jsonl yaml yml toml ini cfg conf env properties ' +
    'ts tsx js jsx mjs cjs vue svelte html htm css scss sql csv tsv xml go rs java kt scala rb php pl lua r ' +
    'c h cc cpp hpp cs swift m dart ex exs erl hs ml clj tf hcl proto graphql lock j2 jinja tpl service dockerfile'
  ).split(' '),
);
const WELL_KNOWN_FILES =
  /^(Dockerfile|Containerfile|Makefile|Procfile|Jenkinsfile|Vagrantfile|Gemfile|Rakefile|LICENSE|README|CODEOWNERS)$/;

/**
 * Whether backticked text names a file: path characters only, and a last segment that is a
 * file name (an extension, a dotfile, or a well-known name like `Dockerfile`). A bare name
 * without a directory needs a common extension, so `sys.path` or `os.environ` are not files.
 * `..` and absolute paths count as paths: refusing them is the manifest's job.
 */
export function looksLikeFilePath(s: string): boolean {
  if (!/^(?:[A-Za-z]:)?[\w.\-/\\~@+]+$/.test(s) || s.startsWith('-')) return false;
  const segments = s.split(/[\\/]/);
  const last = segments[segments.length - 1]!;
  if (last === '' || /^\.+$/.test(last)) return false;
  if (WELL_KNOWN_FILES.test(last) || /^\.[A-Za-z][\w.-]*$/.test(last)) return true;
  const ext = /^[^.].*\.([A-Za-z0-9_+-]*[A-Za-z][A-Za-z0-9_+-]*)$/.exec(last)?.[1];
  if (!ext) return false;
  return segments.length > 1 || BARE_EXTENSIONS.has(ext.toLowerCase());
}

function criteria(nodes: RootContent[]): string[] {
  const out: string[] = [];
  const visit = (node: Nodes, inItem: boolean): void => {
    if (node.type === 'paragraph') {
      const text = stripCheckbox(inlineText(node, true));
      // A list item is one criterion even when wrapped over lines; a paragraph is one per line.
      const lines = inItem ? [text.replace(/\s*\n\s*/g, ' ')] : text.split('\n');
      for (const line of lines) if (line.trim()) out.push(stripCheckbox(line.trim()));
      return;
    }
    if ('children' in node) {
      for (const [i, child] of node.children.entries()) visit(child as Nodes, node.type === 'listItem' && i === 0);
    }
  };
  for (const node of nodes) visit(node, false);
  return out;
}

function stripCheckbox(s: string): string {
  return s.replace(/^\s*\[[ xX]\]\s*/, '');
}

const SHELL_LANGS = new Set(['', 'bash', 'sh', 'shell', 'zsh', 'console', 'shell-session', 'sh-session', 'text']);

/** Fenced code lines, else inline code spans, else paragraph lines: the first form present. */
function testCommands(nodes: RootContent[]): string[] {
  const all = descendants(nodes);
  const code = all.filter((n) => n.type === 'code' && SHELL_LANGS.has((n.lang ?? '').toLowerCase()));
  if (code.length > 0) {
    return code.flatMap((n) =>
      joinContinuations((n as { value: string }).value.split(/\r?\n/))
        .map((l) => l.trim().replace(/^\$\s+/, '')) // a `$ ` prompt, as in console blocks
        .filter((l) => l !== '' && !l.startsWith('#')),
    );
  }
  const inline = all.filter((n) => n.type === 'inlineCode').map((n) => (n as { value: string }).value.trim());
  if (inline.length > 0) return inline.filter((l) => l !== '');
  return all
    .filter((n) => n.type === 'paragraph')
    .flatMap((n) => inlineText(n, false).split('\n'))
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function joinContinuations(lines: string[]): string[] {
  const out: string[] = [];
  let pending = '';
  for (const line of lines) {
    const piece = pending ? line.trimStart() : line;
    if (/\\\s*$/.test(line)) pending += piece.replace(/\s*\\\s*$/, ' ');
    else {
      out.push(pending + piece);
      pending = '';
    }
  }
  if (pending) out.push(pending);
  return out;
}

function provider(classText: string, file: string): Provider | null {
  const m = /\bLLM\s*[:=]\s*([A-Za-z][\w-]*)/i.exec(classText);
  if (!m) return null;
  const value = m[1]!.toLowerCase();
  if (value === 'openai' || value === 'ollama') return value;
  if (value === 'processor' || value === 'intel') return 'processor';
  // Guessing here would send work to a provider the author did not pick.
  throw new InstructionError(
    file,
    `TASK_CLASSIFICATION names an unknown LLM: ${m[1]} (expected openai, ollama or processor)`,
  );
}

function field(classText: string, key: string): string | null {
  const m = new RegExp(`\\b${key}\\s*:\\s*([^|\\n,;]+)`, 'i').exec(classText);
  const value = m?.[1]?.trim().replace(/[.]+$/, '');
  return value ? value : null;
}

/** Text of each block (paragraph, heading, code), so list items do not run together. */
function blockLines(nodes: RootContent[]): string[] {
  return descendants(nodes).flatMap((n) => {
    if (n.type === 'paragraph' || n.type === 'heading') return inlineText(n, false).split('\n');
    if (n.type === 'code') return n.value.split('\n');
    return [];
  });
}

/** Plain text of a node; inline code in backticks when asked. Iterative: documents can nest deeply. */
function inlineText(node: Nodes, backticks: boolean): string {
  let out = '';
  const stack: Nodes[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.type === 'inlineCode') out += backticks ? `\`${n.value}\`` : n.value;
    else if (n.type === 'text' || n.type === 'html') out += n.value;
    else if (n.type === 'break') out += '\n';
    else if (n.type === 'image') out += n.alt ?? '';
    else if ('children' in n) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i] as Nodes);
  }
  return out;
}

/** Every node under `nodes`, in document order. */
function descendants(nodes: RootContent[]): Nodes[] {
  const out: Nodes[] = [];
  const stack: Nodes[] = [...nodes].reverse();
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    if ('children' in n) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i] as Nodes);
  }
  return out;
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

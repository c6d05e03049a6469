// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time by function and by package, to
// say where a worker process spent its CPU.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CpuSummary {
  file: string;
  /** Profiled wall time and the part of it the main thread was busy (not idle), ms. */
  wallMs: number;
  busyMs: number;
  byPackage: Array<{ name: string; ms: number; pct: number }>;
  topFunctions: Array<{ name: string; ms: number; pct: number }>;
}

/** `node_modules/@temporalio/worker/...` → `@temporalio/worker`; our sources → `src/...`. */
function packageOf(url: string, fn: string): string {
  if (!url)
    return fn === '(garbage collector)'
      ? '(gc)'
      : fn === '(program)'
        ? '(program: native, incl. Temporal core)'
        : fn || '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node core';
  const src = url.indexOf('/src/');
  if (src >= 0) return `src/${url.slice(src + 5).split('/')[0]}`;
  return url.replace(/^file:\/\//, '');
}

export function summarizeCpuProfile(file: string, top = 12): CpuSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const pkg = new Map<string, number>();
  const fns = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    total += us;
    if (n.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const name = packageOf(n.callFrame.url, n.callFrame.functionName);
    pkg.set(name, (pkg.get(name) ?? 0) + us);
    const where = n.callFrame.url ? `${packageOf(n.callFrame.url, '')}:${n.callFrame.lineNumber + 1}` : '';
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${where}`.trim();
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pct: Math.round((us / busy) * 1000) / 10 }));
  return {
    file,
    wallMs: Math.round((p.endTime - p.startTime) / 1000),
    busyMs: Math.round(busy / 1000),
    byPackage: rank(pkg),
    topFunctions: rank(fns),
  };
}

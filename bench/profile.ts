import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './service-process.js';

/**
 * Reads the V8 CPU profiles a service process wrote (`--cpu-prof`) and says where its CPU went: self time by
 * package or source folder, and the hottest functions. Idle time is left out of the shares.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function category(url: string, fn: string): string {
  if (fn === '(idle)') return '(idle)';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(program)') return 'V8/native (program)';
  if (!url) return 'V8/native builtins';
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(ROOT)) return `ours: ${path.slice(ROOT.length).split('/')[0]}/`;
  return path.split('/').slice(-2).join('/');
}

export interface ProfileSummary {
  busyMs: number;
  /** Self time, with builtins and Node internals charged to the nearest package or source folder calling them. */
  byCategory: { name: string; share: number }[];
  byFunction: { name: string; share: number }[];
}

const attributable = (c: string) => c.startsWith('ours: ') || !/^(V8|node: |\(|garbage)/.test(c);

export function summariseProfiles(dir: string): ProfileSummary | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return undefined;
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  let busy = 0;
  for (const f of files) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const charged = new Map<number, string>();
    const chargeOf = (id: number): string => {
      const known = charged.get(id);
      if (known) return known;
      const n = byId.get(id)!;
      const own = category(n.callFrame.url, n.callFrame.functionName);
      let c = own;
      if (!attributable(own) && own !== 'garbage collector' && own !== '(idle)') {
        const up = parent.get(id);
        const above = up !== undefined ? chargeOf(up) : undefined;
        if (above && attributable(above)) c = above;
      }
      charged.set(id, c);
      return c;
    };
    p.samples.forEach((id, i) => {
      const n = byId.get(id);
      const dt = (p.timeDeltas[i] ?? 0) / 1000;
      if (!n) return;
      const c = chargeOf(id);
      if (c === '(idle)') return;
      busy += dt;
      cats.set(c, (cats.get(c) ?? 0) + dt);
      const short = n.callFrame.url.replace(/^.*\/(node_modules\/)?/, '');
      const name = `${n.callFrame.functionName || '(anonymous)'} ${short}:${n.callFrame.lineNumber + 1}`;
      fns.set(name, (fns.get(name) ?? 0) + dt);
    });
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, v]) => ({ name, share: v / busy }));
  return { busyMs: busy, byCategory: top(cats, 14), byFunction: top(fns, 12) };
}

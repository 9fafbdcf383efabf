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

/**
 * The stage of a contact's path a category belongs to. Approximate: self time is charged to the package that
 * ran it (a zod refine calling lib/dates counts as lib/), and start-up (tsx compiling) is in "runtime".
 */
export function stageOf(category: string): string {
  if (category === 'garbage collector') return 'garbage collector';
  if (
    /^(fastify|@fastify\/|find-my-way|avvio|light-my-request|fast-|secure-json-parse|content-type|node: (http|net|stream)|ours: (api|connectors|channels)\/)/.test(
      category,
    )
  )
    return 'HTTP + connector (fastify, api/, connectors/)';
  if (/^(zod|libphonenumber-js|ours: (event|lib)\/)/.test(category))
    return 'event: build, validate, identities (event/, lib/, zod, libphonenumber)';
  if (/^(kafkajs|ours: bus\/)/.test(category)) return 'Kafka produce/consume (kafkajs, bus/)';
  if (/^(pg|pg-|postgres-|ours: (router|crm-core|realtime)\/)/.test(category))
    return 'router + SQL client (router/, crm-core/, pg)';
  if (/^(pino|prom-client|ours: (app|observability)\/)/.test(category)) return 'logs, metrics, app/';
  return 'runtime (V8, Node internals, tsx start-up)';
}

export interface ProfileSummary {
  busyMs: number;
  /** Per process (one profile file each): its busy time and the share of each stage (stageOf). */
  byProcess: {
    pid: number;
    busyMs: number;
    byStage: { name: string; share: number }[];
    byFunction: { name: string; share: number }[];
  }[];
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
  const byProcess: ProfileSummary['byProcess'] = [];
  for (const f of files) {
    // --cpu-prof names files CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread
    // (the others are tsx's module loader, busy at start-up only).
    const [, , , pidText, thread] = f.split('.');
    const main = thread === '0';
    const stages = new Map<string, number>();
    const ownFns = new Map<string, number>();
    let own = 0;
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
      own += dt;
      cats.set(c, (cats.get(c) ?? 0) + dt);
      stages.set(stageOf(c), (stages.get(stageOf(c)) ?? 0) + dt);
      const short = n.callFrame.url.replace(/^.*\/(node_modules\/)?/, '');
      const name = `${n.callFrame.functionName || '(anonymous)'} ${short}:${n.callFrame.lineNumber + 1}`;
      fns.set(name, (fns.get(name) ?? 0) + dt);
      ownFns.set(name, (ownFns.get(name) ?? 0) + dt);
    });
    const shares = (m: Map<string, number>, k: number) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([name, v]) => ({ name, share: own > 0 ? v / own : 0 }));
    if (main)
      byProcess.push({
        pid: Number(pidText),
        busyMs: own,
        byStage: shares(stages, 10),
        byFunction: shares(ownFns, 15),
      });
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, v]) => ({ name, share: v / busy }));
  return { busyMs: busy, byProcess, byCategory: top(cats, 14), byFunction: top(fns, 12) };
}

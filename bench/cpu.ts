import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time per process group (service, PostgreSQL, Kafka, this load generator) over a window, from /proc.
 * On a 2-core box this is what tells whether the service or something next to it is the bottleneck.
 * Shares are in "% of one core" (200% = both cores busy). Linux only; elsewhere every figure is n/a.
 */
const CLK_TCK = 100;

function ticksOf(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return undefined;
  }
}

function pidsByComm(names: string[]): Map<string, number[]> {
  const out = new Map<string, number[]>(names.map((n) => [n, []]));
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const comm = readFileSync(`/proc/${e}/comm`, 'utf8').trim();
      out.get(comm)?.push(Number(e));
    } catch {
      // the process just exited
    }
  }
  return out;
}

function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

type Snapshot = {
  at: number;
  groups: Map<string, Map<number, number>>;
  self: NodeJS.CpuUsage;
  machine?: { busy: number; total: number };
};

export interface CpuShares {
  /** % of one core per group, over the window. */
  service: number;
  postgres: number;
  kafka: number;
  loadGenerator: number;
  /** Whole machine, % of one core (all processes, including other users of the box). */
  machine: number;
  /** Everything else on the machine (other users' builds, tests and database sessions, the kernel). */
  other: number;
  /** Length of the window, seconds (share × seconds × 10 = CPU milliseconds). */
  seconds: number;
  /** % of one core per service process, by pid (split roles: which process spent it). */
  servicePids: Map<number, number>;
}

/** CPU milliseconds spent per committed contact, by group, and the contacts/s that all cores would allow. */
export function cpuPerContact(c: CpuShares, perSec: number, cores: number) {
  const per = (share: number) => (share * 10) / perSec; // share is % of one core = 10 × ms per second
  const service = per(c.service);
  const postgres = per(c.postgres);
  const kafka = per(c.kafka);
  const loadGenerator = per(c.loadGenerator);
  const total = service + postgres + kafka + loadGenerator;
  return { service, postgres, kafka, loadGenerator, total, capacity: (cores * 1000) / total };
}

/** CPU milliseconds per contact over a window in which `contacts` were fully handled (sent, routed, committed). */
export function cpuMsPer(c: CpuShares, contacts: number, share: number): number {
  return contacts > 0 ? (share * c.seconds * 10) / contacts : Number.NaN;
}

export class CpuMeter {
  private start?: Snapshot;
  /**
   * @param servicePids the service's processes
   * @param postgresPids the PostgreSQL processes working for us (our sessions and the shared background
   *   processes), so that other users' sessions on a shared server are not counted; default: every postgres process
   * @param loadPids load-generator child processes, counted with this process as the load generator
   */
  constructor(
    private readonly servicePids: () => number[],
    private readonly postgresPids?: () => Promise<number[]>,
    private readonly loadPids: () => number[] = () => [],
  ) {}

  private async snap(): Promise<Snapshot> {
    const byComm = pidsByComm(['postgres', 'java']);
    const pgPids = this.postgresPids
      ? await this.postgresPids().catch(() => [])
      : (byComm.get('postgres') ?? []);
    const read = (pids: number[]) => new Map(pids.map((p) => [p, ticksOf(p) ?? 0]));
    return {
      at: Date.now(),
      groups: new Map([
        ['service', read(this.servicePids())],
        ['postgres', read(pgPids)],
        ['kafka', read(byComm.get('java') ?? [])],
        ['load', read(this.loadPids())],
      ]),
      self: process.cpuUsage(),
      machine: machineTicks(),
    };
  }

  async begin(): Promise<void> {
    this.start = await this.snap();
  }

  async end(): Promise<CpuShares> {
    const a = this.start ?? (await this.snap());
    const b = await this.snap();
    const secs = Math.max(0.001, (b.at - a.at) / 1000);
    const group = (name: string) => {
      let ticks = 0;
      // A process seen only at the end started during the window: all its ticks count.
      for (const [pid, t] of b.groups.get(name) ?? []) ticks += t - (a.groups.get(name)?.get(pid) ?? 0);
      return (ticks / CLK_TCK / secs) * 100;
    };
    const servicePids = new Map<number, number>();
    for (const [pid, t] of b.groups.get('service') ?? [])
      servicePids.set(pid, ((t - (a.groups.get('service')?.get(pid) ?? 0)) / CLK_TCK / secs) * 100);
    const self = process.cpuUsage(a.self);
    const shares = {
      service: group('service'),
      postgres: group('postgres'),
      kafka: group('kafka'),
      loadGenerator: ((self.user + self.system) / 1e6 / secs) * 100 + group('load'),
      machine:
        a.machine && b.machine ? ((b.machine.busy - a.machine.busy) / CLK_TCK / secs) * 100 : Number.NaN,
    };
    const ours = shares.service + shares.postgres + shares.kafka + shares.loadGenerator;
    return { ...shares, other: Math.max(0, shares.machine - ours), seconds: secs, servicePids };
  }
}

export function formatCpu(c: CpuShares): string {
  const f = (v: number) => (Number.isFinite(v) ? `${Math.round(v)}%` : 'n/a');
  return `service ${f(c.service)}, postgres ${f(c.postgres)}, kafka ${f(c.kafka)}, load generator ${f(c.loadGenerator)}, everything else ${f(c.other)}; machine ${f(c.machine)} (200% = both cores)`;
}

import { TOPIC_INBOUND } from '../../bus/bus.js';
import { sleep } from '../../lib/retry.js';
import type { BusInfrastructure } from './bus-infrastructure.js';
import type { OwnPostgres } from './postgres.js';
import type { Supervised } from './processes.js';

/** What a fault can reach: the supervised service processes and the infrastructure under them. */
export interface FaultContext {
  routers: Supervised[];
  connectors: Supervised;
  bus: BusInfrastructure;
  postgres: OwnPostgres;
  say(line: string): void;
}

/** One injected fault. inject() resolves when the injection is over (what was stopped is running again). */
export interface Fault {
  name: string;
  inject(ctx: FaultContext): Promise<string[]>;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function routerKill(index: number, which: number): Fault {
  return {
    name: `router ${which + 1} SIGKILL (#${index + 1})`,
    async inject(ctx) {
      const ready = await ctx.routers[which]!.kill('SIGKILL');
      return [`restarted, ready in ${secs(ready)}`];
    },
  };
}

export const connectorsKill = (index: number): Fault => ({
  name: `connectors SIGKILL (#${index + 1})`,
  async inject(ctx) {
    const ready = await ctx.connectors.kill('SIGKILL');
    return [`restarted, ready in ${secs(ready)}`];
  },
});

export const brokerRestart: Fault = {
  name: 'Kafka broker restart',
  async inject(ctx) {
    const id = ctx.bus.brokerIds()[0]!;
    const t0 = Date.now();
    await ctx.bus.stopBroker(id, 'graceful');
    const stopped = Date.now();
    await ctx.bus.startBroker(id);
    return [`stop ${secs(stopped - t0)}, start ${secs(Date.now() - stopped)}`];
  },
};

/**
 * Cluster faults: SIGKILL the node(s) a look-up picks, leave them down `downSec`, start them again and wait until
 * all three brokers answer. The note names the node(s) killed.
 */
export function clusterKill(
  kind: 'leader' | 'controller' | 'coordinator' | 'two-brokers',
  o: { downSec: number; groupId: string },
): Fault {
  const names = {
    leader: `kill the leader of ${TOPIC_INBOUND}[0]`,
    controller: 'kill the active controller',
    coordinator: `kill the coordinator of group ${o.groupId}`,
    'two-brokers': 'kill two brokers at once',
  };
  return {
    name: names[kind],
    async inject(ctx) {
      const bus = ctx.bus;
      let victims: number[];
      if (kind === 'leader') victims = [await bus.leaderOf(TOPIC_INBOUND, 0)];
      else if (kind === 'controller') victims = [await bus.controller()];
      else if (kind === 'coordinator') victims = [await bus.coordinatorOf(o.groupId)];
      else {
        // The coordinator and one more: the group has to move, and two of three replicas are gone.
        const coordinator = await bus.coordinatorOf(o.groupId);
        victims = [coordinator, bus.brokerIds().find((id) => id !== coordinator)!];
      }
      const t0 = Date.now();
      await Promise.all(victims.map((id) => bus.stopBroker(id, 'kill')));
      await sleep(o.downSec * 1000);
      const t1 = Date.now();
      for (const id of victims) await bus.startBroker(id);
      return [
        `node${victims.length > 1 ? 's' : ''} ${victims.join(' + ')} SIGKILLed, down ${secs(Date.now() - t0)} (start ${secs(Date.now() - t1)})`,
      ];
    },
  };
}

export function postgresRestart(mode: 'fast' | 'immediate', downSec: number): Fault {
  return {
    name: mode === 'fast' ? 'PostgreSQL restart' : 'PostgreSQL crash + start',
    async inject(ctx) {
      const t0 = Date.now();
      await ctx.postgres.stop(mode);
      await sleep(downSec * 1000);
      const t1 = Date.now();
      await ctx.postgres.start();
      return [`down ${secs(Date.now() - t0)} (start ${secs(Date.now() - t1)})`];
    },
  };
}

/**
 * The default schedule, interleaved so every kind of fault lands mid-stream: routers killed repeatedly
 * (alternating), the connectors process killed, the broker restarted, PostgreSQL restarted cleanly and later
 * crashed. `names` picks kinds (routers, connectors, broker, postgres, postgres-crash) in the default order.
 * On a cluster the default is the cluster faults alone, in this order: the leader of the inbound topic's partition 0
 * (leader), the active KRaft controller (controller), the consumer group's coordinator (coordinator), two brokers
 * at once (two-brokers) — each SIGKILLed mid-stream and started again after `downSec`.
 */
export function defaultFaults(o: {
  routerKills: number;
  connectorKills: number;
  postgresDownSec: number;
  names?: string[];
  /** Only on a cluster: the cluster faults are available and are the default schedule. */
  cluster?: { downSec: number; groupId: string };
}): Fault[] {
  const clusterKinds = ['leader', 'controller', 'coordinator', 'two-brokers'] as const;
  const kinds = [
    'routers',
    'connectors',
    'broker',
    'postgres',
    'postgres-crash',
    ...(o.cluster ? clusterKinds : []),
  ];
  const names = o.names ?? (o.cluster ? [...clusterKinds] : kinds);
  for (const n of names)
    if (!kinds.includes(n)) throw new Error(`FAULTS: unknown "${n}" (${kinds.join(', ')})`);
  const routers = Array.from({ length: o.routerKills }, (_, i) => routerKill(i, i % 2));
  const connectors = Array.from({ length: o.connectorKills }, (_, i) => connectorsKill(i));
  const half = <T>(a: T[], second: boolean) =>
    second ? a.slice(Math.ceil(a.length / 2)) : a.slice(0, Math.ceil(a.length / 2));
  const pick = (kind: string, f: Fault[]) => (names.includes(kind) ? f : []);
  return [
    ...pick('routers', half(routers, false)),
    ...pick('connectors', half(connectors, false)),
    ...pick('broker', [brokerRestart]),
    ...pick('postgres', [postgresRestart('fast', o.postgresDownSec)]),
    ...pick('routers', half(routers, true)),
    ...pick('connectors', half(connectors, true)),
    ...pick('postgres-crash', [postgresRestart('immediate', o.postgresDownSec)]),
    ...(o.cluster ? clusterKinds.flatMap((k) => pick(k, [clusterKill(k, o.cluster!)])) : []),
  ];
}

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ConsumerHealth } from '../bus/kafka-consumer.js';

/**
 * The `outcome` label of router_events_total: `new_lead` for the event that created a lead, else the kind of
 * owner the event's activity went to (`lead` for an existing lead, `contact`, `company`), or `queue`.
 */
export function routedOutcome(o: { createdLead: boolean; ownerType: string | null }): string {
  return o.createdLead ? 'new_lead' : (o.ownerType ?? 'queue');
}

/** Prometheus metrics of this process, one registry passed around by the composition root. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  /** Read at scrape time; set by the composition root when this process consumes from Kafka. */
  let busHealth: () => ConsumerHealth | undefined = () => undefined;
  return {
    registry,
    watchBus(health: () => ConsumerHealth | undefined) {
      busHealth = health;
    },
    busRebuilds: new Counter({
      name: 'bus_consumer_rebuilds_total',
      help: 'Kafka consumer rebuilt (new coordinator look-up and rejoin), by reason: commit-failed, commit-timeout, heartbeat-stalled, join-stalled, crashed',
      labelNames: ['reason'] as const,
      registers: [registry],
      collect() {
        // The consumer keeps the totals; copy them in at scrape time.
        this.reset();
        for (const [reason, n] of Object.entries(busHealth()?.rebuilds ?? {})) this.inc({ reason }, n);
      },
    }),
    busLastCommit: new Gauge({
      name: 'bus_consumer_last_commit_timestamp_seconds',
      help: 'When the Kafka consumer last committed offsets (after the router’s database commit)',
      registers: [registry],
      collect() {
        const at = busHealth()?.lastCommitAt;
        if (at !== undefined) this.set(at / 1000);
      },
    }),
    busStalled: new Gauge({
      name: 'bus_consumer_stalled_seconds',
      help: 'How long the oldest fetched but not yet committed batch has waited, across consumer rebuilds; 0 when routing flows',
      registers: [registry],
      collect() {
        this.set(busHealth()?.stalledSeconds ?? 0);
      },
    }),
    routed: new Counter({
      name: 'router_events_total',
      help: 'Inbound contacts committed by the router, by channel and outcome (new_lead, lead, contact, company, queue)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    automationFired: new Counter({
      name: 'automation_fired_total',
      help: 'Automation rules that acted, by rule kind (first_response_sla, offline_reassign, condition) and action (overdue, escalated_next_operator, escalated_supervisor, reassigned, nobody_available, task_created, callback_created)',
      labelNames: ['rule_kind', 'action'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'router_event_latency_seconds',
      help: 'From receivedAt (connector accepted) to the router commit',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    routerThread: new Gauge({
      name: 'router_thread_info',
      help: 'Where this process routes: 1 for the thread running the router (mode worker: its own worker thread, inline: the HTTP thread)',
      labelNames: ['mode', 'thread_id'] as const,
      registers: [registry],
    }),
    routerWorkerRestarts: new Counter({
      name: 'router_worker_restarts_total',
      help: 'Router worker threads that stopped unexpectedly and were started again',
      registers: [registry],
    }),
    updates: new Counter({
      name: 'connector_updates_total',
      help: 'Vendor updates received by webhooks and pollers, by vendor, update kind and what became of them',
      labelNames: ['vendor', 'kind', 'outcome'] as const,
      registers: [registry],
    }),
    http: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

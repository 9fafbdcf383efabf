import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of this process, one registry passed around by the composition root. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    routed: new Counter({
      name: 'router_events_total',
      help: 'Inbound contacts committed by the router, by channel and outcome',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'router_event_latency_seconds',
      help: 'From receivedAt (connector accepted) to the router commit',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
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

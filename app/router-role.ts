import { type Metrics, routedOutcome } from '../api/metrics.js';
import type { Bus } from '../bus/bus.js';
import type { ConsumerHealth } from '../bus/kafka-consumer.js';
import type { Database } from '../crm-core/db/database.js';
import { routedNotices, statusNotices } from '../crm-core/services/console-notices.js';
import type { Logger } from '../lib/logger.js';
import { type Notifier, workChanged } from '../realtime/notices.js';
import type { AppConfig } from './config.js';

/**
 * What the router role counts for /metrics, as plain data: in process it goes straight into the registry, from
 * the router's worker thread it crosses the thread boundary as it is (app/router-thread.ts) and is recorded there
 * by the same function, so /metrics reads the same either way.
 */
export interface RouterSample {
  /** Seconds from receivedAt (connector accepted) to the router's commit, one per event. */
  latencies: number[];
  routed: { channel: string; outcome: string }[];
  fired: { ruleKind: string; action: string }[];
}

export function recordRouterSample(metrics: Metrics, s: RouterSample): void {
  for (const l of s.latencies) metrics.latency.observe(l);
  for (const r of s.routed) metrics.routed.inc(r);
  for (const f of s.fired) metrics.automationFired.inc({ rule_kind: f.ruleKind, action: f.action });
}

export interface RouterRoleDeps {
  config: Readonly<AppConfig>;
  logger: Logger;
  db: Database;
  /** The Kafka bus reports its consumers' health; the in-process bus has none. */
  bus: Bus & { consumerHealth?(): ConsumerHealth | undefined };
  notifier: Notifier;
  report(sample: RouterSample): void;
}

/** The router role as the composition root sees it, in this thread or in a worker thread. */
export interface RouterRole {
  /** The API changed regions: the next batch reads them again. */
  invalidateRegions(): void;
  /** Starts the automation scheduler (once the process serves). */
  start(): void;
  /** Stops the scheduler, then the subscription: the batch in flight commits, and its offsets with it. */
  stop(): Promise<void>;
  /** The bus consumer's state for /metrics; undefined off Kafka. */
  health(): ConsumerHealth | undefined;
}

/**
 * The router role: the router on the bus subscription, and the automation scheduler. Automation timers fire
 * where contacts land: any number of instances may run it (timers are claimed with SKIP LOCKED; PostgreSQL holds
 * them, so a restart loses none). The one function both for a process that routes on its own thread and for the
 * router's worker thread (app/router-worker.ts), so the two cannot drift apart.
 */
export async function startRouterRole(d: RouterRoleDeps): Promise<RouterRole> {
  const { config, db, logger, notifier } = d;
  const [{ createRouter }, { createScheduler }] = await Promise.all([
    import('../router/router.js'),
    import('../router/automation/scheduler.js'),
  ]);
  const router = createRouter({
    db,
    logger,
    callbackDeadlineMin: config.callbackDeadlineMin,
    meaningfulCallSec: config.meaningfulCallSec,
    conversationIdleHours: config.conversationIdleHours,
    defaultCountry: config.defaultCountry,
    onRouted: (events, outcomes) => {
      const now = Date.now();
      const channel = new Map(events.map((e) => [e.id, e.channel]));
      d.report({
        latencies: events.map((e) => (now - Date.parse(e.receivedAt)) / 1000),
        routed: outcomes.map((o) => ({
          channel: channel.get(o.eventId) ?? 'unknown',
          outcome: routedOutcome(o),
        })),
        fired: outcomes.flatMap((o) =>
          (o.automation ?? []).map((f) => ({ ruleKind: f.ruleKind, action: f.action })),
        ),
      });
      const created = new Set(outcomes.filter((o) => o.createdLead).map((o) => o.eventId));
      notifier.later(() => routedNotices(db, events, created));
    },
    onStatuses: (statuses) => notifier.later(() => statusNotices(db, statuses)),
  });
  const subscription = await d.bus.subscribe(router.handle);
  const scheduler = createScheduler({
    db,
    logger,
    pollMs: config.automationPollMs,
    onFired: (firings) => {
      d.report({
        latencies: [],
        routed: [],
        fired: firings.map((f) => ({ ruleKind: f.ruleKind, action: f.action })),
      });
      // Overdue or handed on: both operators' work lists change.
      notifier.publish(
        workChanged(
          [],
          firings.flatMap((f) => f.operatorIds ?? []),
        ),
      );
    },
  });
  return {
    invalidateRegions: () => router.invalidateRegions(),
    start: () => scheduler.start(),
    async stop() {
      await scheduler.stop();
      await subscription.stop();
    },
    health: () => d.bus.consumerHealth?.(),
  };
}

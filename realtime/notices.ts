import type { Logger } from '../lib/logger.js';
import type { RealtimeHub, RealtimeNotice } from './hub.js';

/** Topic names (realtime/hub.ts), written in one place. */
export const topic = {
  operator: (id: number) => `operator:${id}`,
  region: (id: number) => `region:${id}`,
  conversation: (id: number) => `conversation:${id}`,
};

/** What publishes notices after its own work has committed: the hub and a logger for what went wrong. */
export interface Notifier {
  /** Fire and forget: never throws, never waits; failures are logged. */
  publish(notices: RealtimeNotice[]): void;
  /** For code that has its own async work to do before it knows the notices (look-ups after a commit). */
  later(work: () => Promise<RealtimeNotice[]>): void;
}

export function createNotifier(hub: RealtimeHub | undefined, logger: Logger): Notifier {
  const log = logger.child({ component: 'realtime' });
  const publish = (notices: RealtimeNotice[]) => {
    if (!hub) return;
    for (const n of notices) {
      hub.publish(n).catch((err) => log.warn({ err, topic: n.topic, type: n.type }, 'notice not published'));
    }
  };
  return {
    publish,
    later(work) {
      if (!hub) return;
      work().then(publish, (err) => log.warn({ err }, 'notices not prepared'));
    },
  };
}

/** A notifier that publishes nothing (processes or tests without a hub). */
export const NO_NOTICES: Notifier = { publish: () => {}, later: () => {} };

/** One `work.changed` per distinct topic: the console refetches its work list, so one is as good as many. */
export function workChanged(operatorIds: Iterable<number | null>, regionIds: Iterable<number | null> = []) {
  const topics = new Set<string>();
  for (const id of operatorIds) if (id != null) topics.add(topic.operator(id));
  for (const id of regionIds) if (id != null) topics.add(topic.region(id));
  return [...topics].map((t): RealtimeNotice => ({ topic: t, type: 'work.changed', data: {} }));
}

/**
 * Some of the operator's sessions ended (sign-out, revocation, password change): their sockets check their own
 * session at once instead of at the next periodic check. Not forwarded to the browser.
 */
export const sessionEnded = (operatorId: number): RealtimeNotice => ({
  topic: topic.operator(operatorId),
  type: 'session.ended',
  data: {},
});

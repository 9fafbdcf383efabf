import type { Logger } from '../lib/logger.js';
import type { RealtimeHub, RealtimeNotice } from './hub.js';

/** Topic names (realtime/hub.ts), written in one place. */
export const topic = {
  operator: (id: number) => `operator:${id}`,
  region: (id: number) => `region:${id}`,
  conversation: (id: number) => `conversation:${id}`,
  /** Everything in a region's work lists, for its supervisors (who see the whole region). */
  supervisors: (regionId: number) => `supervisors:${regionId}`,
  /** Every operator's availability changing, for the visitor sockets (is anybody there to answer the chat?). */
  presence: 'presence',
  /** Configuration the routing answer caches (region rules): heard by every API instance, never by sockets. */
  routing: 'routing',
};

/**
 * An operator's availability for new chats may have changed (their status, active flag or regions): the visitor
 * sockets check whether their widget's region still has someone online, and tell the widgets when that flips.
 */
export const presenceChanged = (operatorId: number, status: string): RealtimeNotice => ({
  topic: topic.presence,
  type: 'presence',
  data: { operatorId, status },
});

/**
 * An operator closed a conversation: consoles viewing it, and the visitor's live-chat socket (which then looks
 * its conversation up again on the visitor's next message, since that message opens a new one).
 */
export const conversationClosed = (conversationId: number, operatorId: number | null): RealtimeNotice => ({
  topic: topic.conversation(conversationId),
  type: 'conversation.closed',
  data: { conversationId, who: 'operator', operatorId },
});

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

/** Where a piece of work sits: its responsible operator, or the queue of its region. */
export interface WorkPlace {
  responsibleId: number | null;
  regionId: number | null;
}

/**
 * One `work.changed` per distinct topic (the console refetches its work list, so one is as good as many): to the
 * responsible operator, or to the region's queue when nobody is; and to the region's supervisors either way
 * (`supervisors:<region>`, heard by supervisors' sockets only, so operators are not woken by their colleagues'
 * work). `alsoOperators`: operators whose list changed too (the previous responsible of a transfer).
 */
export function workChanged(places: Iterable<WorkPlace>, alsoOperators: Iterable<number | null> = []) {
  const topics = new Set<string>();
  for (const p of places) {
    if (p.responsibleId != null) topics.add(topic.operator(p.responsibleId));
    else if (p.regionId != null) topics.add(topic.region(p.regionId));
    if (p.regionId != null) topics.add(topic.supervisors(p.regionId));
  }
  for (const id of alsoOperators) if (id != null) topics.add(topic.operator(id));
  return [...topics].map((t): RealtimeNotice => ({ topic: t, type: 'work.changed', data: {} }));
}

/** A conversation's entry in the work lists moved on: a client's message (waiting) or an operator's reply. */
export interface ConversationTouch {
  conversationId: number;
  /** The message's text, cut to a preview (null: an attachment only). */
  preview: string | null;
  /** The message's time, ISO 8601. */
  at: string;
  /** The client now waits for an answer (their message), or no longer does (our reply). */
  waiting: boolean;
}

const TOUCH_PREVIEW_CHARS = 200;

/**
 * The same `work.changed`, to the same topics, carrying the conversation and its new preview: a console that
 * lists the conversation patches that entry instead of refetching its whole list (a busy operator gets a notice
 * per client message), and one that does not list it yet refetches, as for any `work.changed`.
 */
export function conversationTouched(place: WorkPlace, touch: ConversationTouch): RealtimeNotice[] {
  const data = { ...touch, preview: touch.preview?.slice(0, TOUCH_PREVIEW_CHARS) ?? null };
  return workChanged([place]).map((n) => ({ ...n, data }));
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

/** Regions or their rules changed: every instance drops its cached copy (router/regions-cache.ts). */
export const regionsChanged = (): RealtimeNotice => ({
  topic: topic.routing,
  type: 'regions.changed',
  data: {},
});

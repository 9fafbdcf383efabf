import type { Queryable } from '../../crm-core/db/database.js';
import * as activities from '../../crm-core/repositories/activity.repository.js';
import * as timers from '../../crm-core/repositories/automation-timer.repository.js';
import { lockEntities } from '../../crm-core/repositories/entity.repository.js';
import {
  type AutomationRule,
  activeRules,
  type ConditionSettings,
  type SlaSettings,
} from '../../crm-core/services/automation-rules.service.js';
import { recordChange } from '../../crm-core/services/timeline.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import { callKey } from '../call-merge.js';
import { isMessengerMessage } from '../conversations.js';
import type { OwnerRef } from '../owner-resolution.js';
import type { Firing } from './fire.js';

/** One routed contact, as the batch left it: its client (null: the queue) and its activity. */
export interface Routed {
  event: InboundContact;
  owner: OwnerRef | null;
  activityId: number | null;
}

const inbound = (e: InboundContact) => e.direction !== 'outbound';
const plus = (at: string | Date, minutes: number) =>
  new Date(new Date(at).getTime() + minutes * 60_000).toISOString();

/**
 * Automation in the router's transaction, after assignment (so the client's operator is known): first-response
 * SLA timers for what now waits for an answer, and condition rules' tasks and callbacks. Both commit with the
 * batch or not at all, and both are idempotent (one live timer per rule and target; one task per rule and
 * activity, by external key), so a retried batch changes nothing twice. Returns the firings per event, for metrics.
 */
export async function automateRouted(
  tx: Queryable,
  routed: Routed[],
  now = new Date(),
): Promise<Map<string, Firing[]>> {
  const fired = new Map<string, Firing[]>();
  const rules = routed.some((r) => inbound(r.event)) ? await activeRules(tx) : [];
  if (rules.length === 0) return fired;
  const sla = rules.filter((r) => r.kind === 'first_response_sla');
  if (sla.length)
    await scheduleSla(tx, routed, sla as Extract<AutomationRule, { kind: 'first_response_sla' }>[]);
  const conditions = rules.filter((r) => r.kind === 'condition') as Extract<
    AutomationRule,
    { kind: 'condition' }
  >[];
  if (conditions.length) await runConditions(tx, routed, conditions, now, fired);
  return fired;
}

/**
 * What waits for a first answer: a messenger conversation (its activity, planned while the client waits), an
 * inbound email that is not a robot's, a missed call's planned callback. Due `minutes` after the contact.
 */
async function scheduleSla(
  tx: Queryable,
  routed: Routed[],
  rules: { id: number; settings: SlaSettings }[],
): Promise<void> {
  const items: { ruleId: number; activityId: number; dueAt: string }[] = [];
  const callbacks = new Map<string, { id: number; settings: SlaSettings }[]>();
  for (const r of routed) {
    const e = r.event;
    if (!inbound(e)) continue;
    const mine = rules.filter((x) => x.settings.channel === e.channel);
    if (mine.length === 0) continue;
    const call = callKey(e);
    if (e.channel === 'phone' && call) {
      callbacks.set(`callback:${call.slice('call:'.length)}`, mine);
      continue;
    }
    const waits =
      (e.channel === 'email' && typeof e.meta?.robot !== 'string' && e.meta?.bounce === undefined) ||
      isMessengerMessage(e);
    if (!waits || r.activityId == null) continue;
    for (const x of mine)
      items.push({ ruleId: x.id, activityId: r.activityId, dueAt: plus(e.occurredAt, x.settings.minutes) });
  }
  for (const cb of await timers.plannedByExternalKeys(tx, [...callbacks.keys()])) {
    for (const x of callbacks.get(cb.external_key)!)
      items.push({ ruleId: x.id, activityId: cb.id, dueAt: plus(cb.created_at, x.settings.minutes) });
  }
  await timers.scheduleActivityTimers(tx, items);
}

/** Whether a routed contact meets every condition the rule gives (any value of each list). */
export function matches(
  c: ConditionSettings['conditions'],
  e: InboundContact,
  regionId: number | null,
): boolean {
  if (c.channels && !c.channels.includes(e.channel)) return false;
  if (c.sourceKeys && !c.sourceKeys.includes(e.source.key)) return false;
  if (c.regionIds && (regionId == null || !c.regionIds.includes(regionId))) return false;
  if (c.keywords) {
    const text = `${e.content.subject ?? ''}\n${e.content.text ?? ''}`.toLowerCase();
    if (!c.keywords.some((k) => text.includes(k.trim().toLowerCase()))) return false;
  }
  return true;
}

async function runConditions(
  tx: Queryable,
  routed: Routed[],
  rules: { id: number; name: string; settings: ConditionSettings }[],
  now: Date,
  fired: Map<string, Firing[]>,
): Promise<void> {
  const withClient = routed.filter(
    (r): r is Routed & { owner: OwnerRef } => r.owner != null && inbound(r.event),
  );
  const entities = await lockEntities(
    tx,
    withClient.map((r) => r.owner),
    'KEY SHARE',
  );
  for (const r of withClient) {
    const entity = entities.get(`${r.owner.type}:${r.owner.id}`);
    for (const rule of rules) {
      if (!matches(rule.settings.conditions, r.event, entity?.region_id ?? null)) continue;
      const a = rule.settings.action;
      // One per rule and activity: a conversation's later messages, or a call's later events, add none.
      const key = `automation:${rule.id}:${r.activityId ?? r.event.id}`;
      const created = await activities.insertActivitiesOnce(tx, [
        {
          ownerType: r.owner.type,
          ownerId: r.owner.id,
          type: a.type,
          direction: a.type === 'callback' ? 'outbound' : null,
          state: 'planned',
          subject: a.subject,
          body: null,
          deadline: plus(now, a.deadlineMinutes),
          completedAt: null,
          responsibleId: entity?.responsible_id ?? null,
          channel: null,
          sourceKey: null,
          eventId: null,
          externalKey: key,
          messageId: null,
          threadRef: null,
          details: { automation: { ruleId: rule.id, rule: rule.name, eventId: r.event.id } },
          createdAt: now.toISOString(),
        },
      ]);
      if (created === 0) continue;
      const action = `${a.type}_created`;
      await recordChange(tx, r.owner, `Automation "${rule.name}": ${a.type} "${a.subject}"`, {
        change: 'automation',
        by: { kind: 'automation', ruleId: rule.id },
        rule: rule.name,
        action,
        eventId: r.event.id,
      });
      fired.set(r.event.id, [...(fired.get(r.event.id) ?? []), { ruleKind: 'condition', action }]);
    }
  }
}

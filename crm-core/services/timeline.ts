import type { Queryable } from '../db/database.js';
import { type ActivityRow, insertActivity, type NewActivity } from '../repositories/activity.repository.js';

/** Who made a change: an operator through the API, the router on a client's contact, or an automation rule. */
export type Actor =
  | { kind: 'operator'; operatorId: number }
  | { kind: 'router'; eventId: string }
  | { kind: 'automation'; ruleId: number };

/**
 * A workflow record on an entity's timeline (activity type 'system', completed at once): a status or stage
 * change, a conversion, a merge. `details.change` says which; `details.by` who made it.
 */
export function systemActivity(
  owner: { type: NewActivity['ownerType']; id: number },
  subject: string,
  details: Record<string, unknown> & { change: string; by: Actor },
): NewActivity {
  const now = new Date().toISOString();
  return {
    ownerType: owner.type,
    ownerId: owner.id,
    type: 'system',
    direction: null,
    state: 'completed',
    subject,
    body: null,
    deadline: null,
    completedAt: now,
    responsibleId: null,
    channel: null,
    sourceKey: null,
    eventId: null,
    externalKey: null,
    messageId: null,
    threadRef: null,
    details,
    createdAt: now,
  };
}

export function recordChange(
  db: Queryable,
  owner: { type: NewActivity['ownerType']; id: number },
  subject: string,
  details: Record<string, unknown> & { change: string; by: Actor },
): Promise<ActivityRow> {
  const by = details.by;
  return insertActivity(db, {
    ...systemActivity(owner, subject, details),
    createdBy: by.kind === 'operator' ? by.operatorId : null,
  });
}

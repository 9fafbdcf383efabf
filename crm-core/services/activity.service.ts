import { AppError } from '../../lib/errors.js';
import type { Database } from '../db/database.js';
import * as activities from '../repositories/activity.repository.js';
import { lockDeal } from '../repositories/deal.repository.js';
import { lockEntities } from '../repositories/entity.repository.js';
import { requireActiveOperator } from './deal.service.js';

/**
 * What an operator does with activities: complete, reschedule or reassign a planned one (callbacks, tasks,
 * meetings), and add a task, callback, meeting or note to any lead, contact, company or deal. Counters count
 * planned activities only, so a completed callback stops being overdue at once.
 */
const WORKABLE = new Set(['callback', 'task', 'meeting', 'call']);

const notFound = (id: number) =>
  new AppError('NOT_FOUND', `id: activity ${id} not found`, { fields: ['id'] });

async function lockPlanned(tx: Parameters<typeof activities.lockActivity>[0], id: number) {
  const a = await activities.lockActivity(tx, id);
  if (!a) throw notFound(id);
  if (!WORKABLE.has(a.type)) {
    throw new AppError('UNPROCESSABLE', `id: a ${a.type} activity is not completed or planned by hand`, {
      fields: ['id'],
    });
  }
  if (a.state !== 'planned')
    throw new AppError('CONFLICT', `id: activity ${id} is already completed`, { fields: ['id'] });
  return a;
}

export async function completeActivity(
  db: Database,
  id: number,
  input: { result?: string },
  operatorId: number,
): Promise<activities.ActivityRow> {
  return db.transaction(async (tx) => {
    await lockPlanned(tx, id);
    return activities.completeActivity(tx, id, new Date(), {
      completedBy: operatorId,
      ...(input.result ? { result: input.result } : {}),
    });
  });
}

export interface ActivityChange {
  deadline?: string;
  responsibleId?: number;
  subject?: string;
  body?: string | null;
}

export async function changeActivity(
  db: Database,
  id: number,
  input: ActivityChange,
  operatorId: number,
): Promise<activities.ActivityRow> {
  if (Object.values(input).every((v) => v === undefined))
    throw new AppError('VALIDATION', 'body: give deadline, responsibleId, subject or body', {
      fields: ['body'],
    });
  return db.transaction(async (tx) => {
    const a = await lockPlanned(tx, id);
    if (input.responsibleId != null) await requireActiveOperator(tx, input.responsibleId, 'responsibleId');
    const change: Record<string, unknown> = { by: operatorId, at: new Date().toISOString() };
    if (input.deadline !== undefined) change.deadline = { from: a.deadline, to: input.deadline };
    if (input.responsibleId !== undefined)
      change.responsible = { from: a.responsible_id, to: input.responsibleId };
    return activities.updatePlannedActivity(tx, id, input, change);
  });
}

export type EntityKind = 'lead' | 'contact' | 'company' | 'deal';

export interface NewWork {
  type: 'task' | 'callback' | 'meeting' | 'note';
  subject: string;
  body?: string;
  deadline?: string;
  responsibleId?: number;
}

/**
 * A task, callback or meeting (planned, deadline required) or a note (completed at once) on an entity. The
 * entity is locked KEY SHARE meanwhile, so a merge or conversion cannot move its rows past this one; an entity
 * already merged or converted is refused with the entity it became.
 */
export async function createActivity(
  db: Database,
  owner: { type: EntityKind; id: number },
  input: NewWork,
  operatorId: number,
): Promise<activities.ActivityRow> {
  const planned = input.type !== 'note';
  if (planned && !input.deadline)
    throw new AppError('VALIDATION', `deadline: required for a ${input.type}`, { fields: ['deadline'] });
  return db.transaction(async (tx) => {
    if (owner.type === 'deal') {
      if (!(await lockDeal(tx, owner.id)))
        throw new AppError('NOT_FOUND', `id: deal ${owner.id} not found`, { fields: ['id'] });
    } else {
      const e = (await lockEntities(tx, [{ type: owner.type, id: owner.id }], 'KEY SHARE')).get(
        `${owner.type}:${owner.id}`,
      );
      if (!e) throw new AppError('NOT_FOUND', `id: ${owner.type} ${owner.id} not found`, { fields: ['id'] });
      const now =
        e.merged_into_id != null
          ? `${e.merged_into_type} ${e.merged_into_id}`
          : e.status === 'converted'
            ? 'a contact (converted)'
            : null;
      if (now)
        throw new AppError('CONFLICT', `id: ${owner.type} ${owner.id} is now ${now}; add it there`, {
          fields: ['id'],
        });
    }
    const responsibleId = input.responsibleId ?? operatorId;
    if (input.responsibleId != null) await requireActiveOperator(tx, input.responsibleId, 'responsibleId');
    const now = new Date().toISOString();
    return activities.insertActivity(tx, {
      ownerType: owner.type,
      ownerId: owner.id,
      type: input.type,
      direction: input.type === 'callback' ? 'outbound' : null,
      state: planned ? 'planned' : 'completed',
      subject: input.subject,
      body: input.body ?? null,
      deadline: planned ? input.deadline! : null,
      completedAt: planned ? null : now,
      responsibleId,
      channel: null,
      sourceKey: null,
      eventId: null,
      externalKey: null,
      messageId: null,
      threadRef: null,
      details: {},
      createdAt: now,
      createdBy: operatorId,
    });
  });
}

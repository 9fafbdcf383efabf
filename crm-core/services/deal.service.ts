import { AppError } from '../../lib/errors.js';
import type { Database } from '../db/database.js';
import * as deals from '../repositories/deal.repository.js';
import { type EntityRef, lockEntities } from '../repositories/entity.repository.js';
import { activeOperatorIds } from '../repositories/operator.repository.js';
import type { Viewer } from '../repositories/visibility.repository.js';
import { recordChange } from './timeline.js';

/** The deal pipeline's open stages, in order; closing a deal sets its stage to its outcome (won / lost). */
export const DEAL_OPEN_STAGES: readonly string[] = [
  'new',
  'preparation',
  'proposal',
  'negotiation',
  'invoice',
];

const notFound = (id: number) => new AppError('NOT_FOUND', `id: deal ${id} not found`, { fields: ['id'] });
const isClosed = (d: deals.DealRow) =>
  new AppError('CONFLICT', `id: deal ${d.id} is closed (${d.outcome}); it cannot change`, { fields: ['id'] });

export async function getDeal(db: Database, id: number): Promise<deals.DealRow> {
  const d = await deals.getDealRow(db, id);
  if (!d) throw notFound(id);
  return d;
}

export const listDeals = (db: Database, f: deals.DealFilter, viewer: Viewer) =>
  deals.listDeals(db, f, viewer);

export async function requireActiveOperator(
  db: Parameters<typeof activeOperatorIds>[0],
  id: number,
  field: string,
) {
  if (!(await activeOperatorIds(db, [id])).has(id))
    throw new AppError('UNPROCESSABLE', `${field}: ${id} is not an active operator`, { fields: [field] });
}

export interface DealInput {
  title: string;
  contactId?: number;
  companyId?: number;
  stage?: string;
  amount?: number;
  responsibleId?: number;
}

/** A deal is bound to a contact and/or company that exist and were not merged away (locked while it is written). */
export async function createDeal(db: Database, input: DealInput, operatorId: number): Promise<deals.DealRow> {
  if (input.contactId == null && input.companyId == null)
    throw new AppError('VALIDATION', 'contactId: a deal needs a contactId or a companyId', {
      fields: ['contactId', 'companyId'],
    });
  return db.transaction(async (tx) => {
    const refs: EntityRef[] = [];
    if (input.contactId != null) refs.push({ type: 'contact', id: input.contactId });
    if (input.companyId != null) refs.push({ type: 'company', id: input.companyId });
    const locked = await lockEntities(tx, refs, 'KEY SHARE');
    for (const r of refs) {
      const row = locked.get(`${r.type}:${r.id}`);
      const field = `${r.type}Id`;
      if (!row)
        throw new AppError('UNPROCESSABLE', `${field}: ${r.type} ${r.id} does not exist`, {
          fields: [field],
        });
      if (row.merged_into_id != null)
        throw new AppError(
          'CONFLICT',
          `${field}: ${r.type} ${r.id} was merged into ${row.merged_into_type} ${row.merged_into_id}`,
          {
            fields: [field],
          },
        );
    }
    if (input.responsibleId != null) await requireActiveOperator(tx, input.responsibleId, 'responsibleId');
    const stage = input.stage ?? 'new';
    const d = await deals.insertDeal(tx, {
      title: input.title,
      stage,
      contactId: input.contactId ?? null,
      companyId: input.companyId ?? null,
      leadId: null,
      responsibleId: input.responsibleId ?? operatorId,
      amount: input.amount ?? null,
    });
    await recordChange(tx, { type: 'deal', id: d.id }, `Deal created at stage ${stage}`, {
      change: 'created',
      stage,
      by: { kind: 'operator', operatorId },
    });
    return d;
  });
}

export async function changeDealStage(
  db: Database,
  id: number,
  stage: string,
  operatorId: number,
): Promise<deals.DealRow> {
  return db.transaction(async (tx) => {
    const d = await deals.lockDeal(tx, id);
    if (!d) throw notFound(id);
    if (d.closed) throw isClosed(d);
    if (d.stage === stage) return d;
    const row = await deals.updateDeal(tx, id, { stage });
    await recordChange(tx, { type: 'deal', id }, `Stage: ${d.stage} → ${stage}`, {
      change: 'stage',
      from: d.stage,
      to: stage,
      by: { kind: 'operator', operatorId },
    });
    return row;
  });
}

export async function closeDeal(
  db: Database,
  id: number,
  input: { outcome: 'won' | 'lost'; reason?: string },
  operatorId: number,
): Promise<deals.DealRow> {
  return db.transaction(async (tx) => {
    const d = await deals.lockDeal(tx, id);
    if (!d) throw notFound(id);
    if (d.closed) throw isClosed(d);
    const reason = input.reason?.trim() || null;
    const row = await deals.closeDeal(tx, id, input.outcome, reason);
    await recordChange(
      tx,
      { type: 'deal', id },
      `Closed as ${input.outcome}${reason ? ` (${reason})` : ''}`,
      {
        change: 'stage',
        from: d.stage,
        to: input.outcome,
        reason,
        by: { kind: 'operator', operatorId },
      },
    );
    return row;
  });
}

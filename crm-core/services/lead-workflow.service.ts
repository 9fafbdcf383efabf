import { AppError } from '../../lib/errors.js';
import type { Database } from '../db/database.js';
import { insertDeal } from '../repositories/deal.repository.js';
import {
  type EntityRef,
  type EntityRow,
  insertCompany,
  insertContact,
  lockEntities,
  setContactCompany,
} from '../repositories/entity.repository.js';
import * as leads from '../repositories/lead.repository.js';
import { activeOperatorIds } from '../repositories/operator.repository.js';
import { DEAL_OPEN_STAGES } from './deal.service.js';
import { inTransferTransaction, type TransferCounts, transferAll } from './entity-transfer.js';
import { recordChange } from './timeline.js';

/**
 * The lead lifecycle: new -> in_progress -> converted | junk. Junk needs a reason; a junk lead may be reopened
 * (by hand here, or by the client coming back when JUNK_RETURN is 'reopen'). Converted and merged are final:
 * conversion is POST /v1/leads/:id/convert, never a status change. Every change is a 'system' activity on the
 * lead's timeline naming the operator.
 */
export type SettableStatus = 'new' | 'in_progress' | 'junk';
const OPEN = new Set(['new', 'in_progress']);

const notFound = (id: number) => new AppError('NOT_FOUND', `id: lead ${id} not found`, { fields: ['id'] });
const closed = (l: EntityRow) =>
  new AppError('CONFLICT', `status: lead ${l.id} is ${l.status}; it cannot change any more`, {
    fields: ['status'],
  });

export async function changeLeadStatus(
  db: Database,
  id: number,
  input: { status: SettableStatus; reason?: string },
  operatorId: number,
): Promise<leads.LeadRow> {
  const reason = input.reason?.trim() || null;
  if (input.status === 'junk' && !reason)
    throw new AppError('VALIDATION', 'reason: required when the status is junk', { fields: ['reason'] });
  return db.transaction(async (tx) => {
    const lead = (await lockEntities(tx, [{ type: 'lead', id }])).get(`lead:${id}`);
    if (!lead) throw notFound(id);
    if (lead.status === 'converted' || lead.status === 'merged') throw closed(lead);
    if (lead.status === input.status) return (await leads.getLead(tx, id))!;
    const row = await leads.setLeadStatus(tx, id, input.status, input.status === 'junk' ? reason : null);
    await recordChange(
      tx,
      { type: 'lead', id },
      `Status: ${lead.status} → ${input.status}${reason && input.status === 'junk' ? ` (${reason})` : ''}`,
      {
        change: 'status',
        from: lead.status,
        to: input.status,
        ...(input.status === 'junk' ? { reason } : {}),
        by: { kind: 'operator', operatorId },
      },
    );
    return row;
  });
}

export interface ConvertInput {
  /** A new contact (name defaults to the lead's) ... */
  contact?: { name?: string };
  /** ... or an existing one the lead turns out to be. */
  contactId?: number;
  company?: { name: string };
  companyId?: number;
  deal?: { title?: string; amount?: number; stage?: string };
}

export interface ConvertResult {
  leadId: number;
  contactId: number;
  companyId: number | null;
  dealId: number | null;
  moved: TransferCounts;
}

/**
 * Conversion, in ONE transaction: the contact (new or existing), optionally a company and a deal; then every
 * identity, activity (planned callbacks included), conversation and deal of the lead moves to the contact
 * (entity-transfer.ts, which also makes it safe while routers run), and the lead is closed as converted,
 * pointing at them. Later contacts from any of its identities find the contact.
 */
export async function convertLead(
  db: Database,
  id: number,
  input: ConvertInput,
  operatorId: number,
): Promise<ConvertResult> {
  if (input.contactId != null && input.contact)
    throw new AppError('VALIDATION', 'contactId: give contact or contactId, not both', {
      fields: ['contactId'],
    });
  if (input.companyId != null && input.company)
    throw new AppError('VALIDATION', 'companyId: give company or companyId, not both', {
      fields: ['companyId'],
    });
  const stage = input.deal?.stage ?? 'new';
  if (!DEAL_OPEN_STAGES.includes(stage))
    throw new AppError('VALIDATION', `deal.stage: must be one of ${DEAL_OPEN_STAGES.join(', ')}`, {
      fields: ['deal.stage'],
    });
  return inTransferTransaction(db, async (tx) => {
    const refs: EntityRef[] = [{ type: 'lead', id }];
    if (input.contactId != null) refs.push({ type: 'contact', id: input.contactId });
    if (input.companyId != null) refs.push({ type: 'company', id: input.companyId });
    const locked = await lockEntities(tx, refs);
    const lead = locked.get(`lead:${id}`);
    if (!lead) throw notFound(id);
    if (!OPEN.has(lead.status ?? ''))
      throw new AppError(
        'CONFLICT',
        `status: lead ${id} is ${lead.status}; only new or in_progress leads convert`,
        {
          fields: ['status'],
        },
      );
    for (const [field, type, given] of [
      ['contactId', 'contact', input.contactId],
      ['companyId', 'company', input.companyId],
    ] as const) {
      if (given == null) continue;
      const row = locked.get(`${type}:${given}`);
      if (!row || row.merged_into_id != null)
        throw new AppError('UNPROCESSABLE', `${field}: ${type} ${given} does not exist or was merged`, {
          fields: [field],
        });
    }
    // The lead's operator keeps the client; one who left is replaced by the operator converting.
    const kept = lead.responsible_id;
    const responsibleId = kept != null && (await activeOperatorIds(tx, [kept])).has(kept) ? kept : operatorId;
    const companyId =
      input.companyId ??
      (input.company
        ? await insertCompany(tx, { name: input.company.name, responsibleId, regionId: lead.region_id })
        : null);
    let contactId = input.contactId;
    if (contactId == null) {
      contactId = await insertContact(tx, {
        name: input.contact?.name ?? lead.name ?? lead.title,
        companyId,
        responsibleId,
        regionId: lead.region_id,
      });
    } else if (companyId != null) await setContactCompany(tx, contactId, companyId);

    const moved = await transferAll(tx, { type: 'lead', id }, { type: 'contact', id: contactId });
    const deal = input.deal
      ? await insertDeal(tx, {
          title: input.deal.title ?? lead.title ?? `Deal from lead ${id}`,
          stage,
          contactId,
          companyId,
          leadId: id,
          responsibleId,
          amount: input.deal.amount ?? null,
        })
      : null;
    await leads.markConverted(tx, id, { contactId, companyId, dealId: deal?.id ?? null });
    const by = { kind: 'operator', operatorId } as const;
    const what = { leadId: id, contactId, companyId, dealId: deal?.id ?? null, moved };
    await recordChange(tx, { type: 'lead', id }, `Converted into contact ${contactId}`, {
      change: 'conversion',
      from: lead.status,
      to: 'converted',
      ...what,
      by,
    });
    await recordChange(tx, { type: 'contact', id: contactId }, `Converted from lead ${id}`, {
      change: 'conversion',
      ...what,
      by,
    });
    if (deal)
      await recordChange(tx, { type: 'deal', id: deal.id }, `Deal created from lead ${id}`, {
        change: 'created',
        stage,
        ...what,
        by,
      });
    return { leadId: id, contactId, companyId, dealId: deal?.id ?? null, moved };
  });
}

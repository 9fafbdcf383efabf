import { AppError } from '../../lib/errors.js';
import type { Database } from '../db/database.js';
import * as dups from '../repositories/duplicate.repository.js';
import {
  type EntityRef,
  type EntityRow,
  fillSurvivor,
  lockEntities,
  markMerged,
} from '../repositories/entity.repository.js';
import { findOwners, type OwnerInfo, type OwnerType } from '../repositories/identity.repository.js';
import type { Viewer } from '../repositories/visibility.repository.js';
import { inTransferTransaction, type TransferCounts, transferAll } from './entity-transfer.js';
import { recordChange } from './timeline.js';

/**
 * Duplicates the router flagged (one client's identities pointing at several entities): listed, merged into
 * the survivor an operator chooses, or dismissed. What may absorb what: an entity of the same type, or a lead
 * absorbed by a contact or company (the lead turns out to be a known client). A contact and a company are not
 * duplicates of each other, and a lead never absorbs a client.
 */
const MAY_ABSORB: Record<OwnerType, OwnerType[]> = {
  lead: ['lead'],
  contact: ['contact', 'lead'],
  company: ['company', 'lead'],
};

export interface CandidateView {
  candidate: dups.CandidateRow;
  chosen: OwnerInfo | undefined;
  other: OwnerInfo | undefined;
}

export async function listDuplicates(
  db: Database,
  f: { state: 'open' | 'resolved' | 'all'; limit: number; offset: number },
  viewer: Viewer,
): Promise<CandidateView[]> {
  const rows = await dups.listCandidates(db, f, viewer);
  const owners = await findOwners(
    db,
    rows.flatMap((r) => [
      { type: r.chosen_type, id: r.chosen_id },
      { type: r.other_type, id: r.other_id },
    ]),
  );
  const byKey = new Map(owners.map((o) => [`${o.owner_type}:${o.owner_id}`, o]));
  return rows.map((r) => ({
    candidate: r,
    chosen: byKey.get(`${r.chosen_type}:${r.chosen_id}`),
    other: byKey.get(`${r.other_type}:${r.other_id}`),
  }));
}

const notFound = (id: number) =>
  new AppError('NOT_FOUND', `id: duplicate candidate ${id} not found`, { fields: ['id'] });
const settled = (c: dups.CandidateRow) =>
  new AppError('CONFLICT', `id: duplicate candidate ${c.id} is already ${c.resolution ?? 'resolved'}`, {
    fields: ['id'],
  });
const gone = (e: EntityRow) => e.merged_into_id != null || e.status === 'converted' || e.status === 'merged';

export interface MergeResult {
  candidate: dups.CandidateRow;
  survivor: EntityRef;
  merged: EntityRef;
  moved: TransferCounts;
}

/**
 * Merges the pair of a candidate into the survivor, in one transaction safe while routers run (see
 * entity-transfer.ts): identities, activities, conversations and deals move; the other entity stays, marked
 * merged and pointing at the survivor; other open candidates naming it are asked again about the survivor.
 */
export async function mergeDuplicate(
  db: Database,
  candidateId: number,
  survivor: EntityRef,
  operatorId: number,
): Promise<MergeResult> {
  return inTransferTransaction(db, async (tx) => {
    const c = await dups.lockCandidate(tx, candidateId);
    if (!c) throw notFound(candidateId);
    if (c.resolved) throw settled(c);
    const pair: EntityRef[] = [
      { type: c.chosen_type, id: c.chosen_id },
      { type: c.other_type, id: c.other_id },
    ];
    const si = pair.findIndex((p) => p.type === survivor.type && p.id === survivor.id);
    if (si < 0) {
      throw new AppError(
        'VALIDATION',
        `survivor: must be one of the pair (${pair.map((p) => `${p.type} ${p.id}`).join(', ')})`,
        { fields: ['survivor'] },
      );
    }
    const merged = pair[1 - si]!;
    if (!MAY_ABSORB[survivor.type].includes(merged.type)) {
      throw new AppError('UNPROCESSABLE', `survivor: a ${survivor.type} cannot absorb a ${merged.type}`, {
        fields: ['survivor'],
      });
    }
    const locked = await lockEntities(tx, pair);
    const s = locked.get(`${survivor.type}:${survivor.id}`);
    const m = locked.get(`${merged.type}:${merged.id}`);
    for (const e of [s, m]) {
      if (!e || gone(e)) {
        throw new AppError(
          'CONFLICT',
          'id: one of the pair no longer exists as itself (merged or converted)',
          {
            fields: ['id'],
          },
        );
      }
    }
    const resolved = await dups.resolveCandidate(tx, c.id, {
      resolution: 'merged',
      by: operatorId,
      survivor,
    });
    const moved = await transferAll(tx, merged, survivor);
    await fillSurvivor(tx, survivor, m!);
    await markMerged(tx, merged, survivor);
    const by = { kind: 'operator', operatorId } as const;
    await recordChange(tx, survivor, `Merged ${merged.type} ${merged.id} into this ${survivor.type}`, {
      change: 'merge',
      merged,
      survivor,
      candidateId: c.id,
      moved,
      by,
    });
    await recordChange(tx, merged, `Merged into ${survivor.type} ${survivor.id}`, {
      change: 'merged_into',
      merged,
      survivor,
      candidateId: c.id,
      by,
    });
    return { candidate: resolved, survivor, merged, moved };
  });
}

export async function dismissDuplicate(
  db: Database,
  candidateId: number,
  operatorId: number,
): Promise<dups.CandidateRow> {
  return db.transaction(async (tx) => {
    const c = await dups.lockCandidate(tx, candidateId);
    if (!c) throw notFound(candidateId);
    if (c.resolved) throw settled(c);
    return dups.resolveCandidate(tx, c.id, { resolution: 'dismissed', by: operatorId, survivor: null });
  });
}

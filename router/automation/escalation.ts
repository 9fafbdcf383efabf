import type { Queryable } from '../../crm-core/db/database.js';
import { writeAssignment } from '../../crm-core/repositories/assignment.repository.js';
import { lockEntities } from '../../crm-core/repositories/entity.repository.js';
import * as operators from '../../crm-core/repositories/operator.repository.js';
import * as regionsRepo from '../../crm-core/repositories/region.repository.js';
import { OperatorPicker } from '../operator-picker.js';

/** Whom unanswered work goes to when an automation hands it on. */
export interface Handover {
  operatorId: number;
  /** round_robin, least_loaded, region_default, global_default (the assignment rules' reasons), or supervisor. */
  reason: string;
}

/** The client's region (leads, contacts, companies), read under KEY SHARE so a merge cannot move it meanwhile. */
export async function ownerRegion(
  tx: Queryable,
  owner: { type: string; id: number | null },
): Promise<number | null> {
  if (owner.id == null || !['lead', 'contact', 'company'].includes(owner.type)) return null;
  const rows = await lockEntities(
    tx,
    [{ type: owner.type as 'lead' | 'contact' | 'company', id: owner.id }],
    'KEY SHARE',
  );
  return rows.get(`${owner.type}:${owner.id}`)?.region_id ?? null;
}

/**
 * The next operator for the region by its own assignment rules (round robin or least loaded among its online
 * operators, then the region's default, then the global default), never `exclude` (who did not answer). The
 * round-robin pointer moves as for a new contact, so handed-on work is shared like new work. Null: nobody else.
 */
export async function nextOperator(
  tx: Queryable,
  regionId: number | null,
  exclude: number | null,
): Promise<Handover | null> {
  const regions = await regionsRepo.listRegions(tx);
  const regionMap = new Map(regions.map((r) => [r.id, r]));
  const region = regionId != null ? regionMap.get(regionId) : undefined;
  const ids = region ? [region.id] : [];
  const candidates = (
    await operators.regionCandidates(tx, ids, region?.strategy === 'least_loaded' ? ids : [])
  ).filter((c) => c.operator_id !== exclude);
  const globalDefault = (await regionsRepo.getSetting<number>(tx, 'default_operator_id')) ?? null;
  const defaults = [globalDefault, region?.default_operator_id ?? null].filter(
    (x): x is number => x != null && x !== exclude,
  );
  const active = await operators.activeOperatorIds(tx, defaults);
  const pointers = await regionsRepo.lockAssignmentState(tx, ids);
  const picker = new OperatorPicker(
    regionMap,
    new Map([
      [
        region?.id ?? 0,
        candidates.map((c) => ({ operatorId: c.operator_id, online: c.status === 'online', load: c.load })),
      ],
    ]),
    new Map(pointers.map((p) => [p.region_id, p.last_operator_id])),
    active,
    globalDefault === exclude ? null : globalDefault,
  );
  const a = picker.assign(region?.id ?? null);
  if (a.operatorId == null || a.operatorId === exclude) return null;
  await writeAssignment(tx, {
    newLeads: [],
    owners: { lead: [], contact: [], company: [] },
    activities: [],
    ownerActivities: [],
    pointers: picker.changedPointers(),
  });
  return { operatorId: a.operatorId, reason: a.reason };
}

export async function supervisorOf(
  tx: Queryable,
  regionId: number | null,
  exclude: number | null,
): Promise<Handover | null> {
  if (regionId == null) return null;
  const id = await operators.regionSupervisor(tx, regionId, exclude);
  return id == null ? null : { operatorId: id, reason: 'supervisor' };
}

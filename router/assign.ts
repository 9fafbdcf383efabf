import type { Queryable } from '../crm-core/db/database.js';
import { writeAssignment } from '../crm-core/repositories/assignment.repository.js';
import * as operators from '../crm-core/repositories/operator.repository.js';
import * as regionsRepo from '../crm-core/repositories/region.repository.js';
import { OperatorPicker } from './operator-picker.js';
import type { OwnerRef } from './owner-resolution.js';
import type { Decision } from './plan.js';

/**
 * Chooses operators for the batch's decisions that need one (new leads, known clients whose responsible
 * left, anonymous calls) and writes them onto the leads, owners and activities written unassigned before.
 * Runs last in the transaction: it locks the regions' round-robin pointers (sorted, no deadlocks), so
 * concurrent batches queue only for these few statements, and the fairness of round robin holds exactly.
 */
export async function assignOperators(
  tx: Queryable,
  needing: Decision[],
  regions: regionsRepo.RegionRow[],
  w: { resolve: (t: Decision['target']) => OwnerRef | null; activityOf: (d: Decision) => number | null },
): Promise<void> {
  if (needing.length === 0) return;
  const regionMap = new Map(regions.map((r) => [r.id, r]));
  const regionIds = [...new Set(needing.map((d) => d.regionId).filter((x): x is number => x != null))];
  const leastLoaded = regionIds.filter((id) => regionMap.get(id)?.strategy === 'least_loaded');
  const candidates = await operators.regionCandidates(tx, regionIds, leastLoaded);
  const globalDefault = (await regionsRepo.getSetting<number>(tx, 'default_operator_id')) ?? null;
  const defaults = [globalDefault, ...regionIds.map((id) => regionMap.get(id)?.default_operator_id ?? null)];
  const active = await operators.activeOperatorIds(
    tx,
    defaults.filter((x): x is number => x != null),
  );

  // From here to COMMIT the regions' pointer rows are locked: two statements, two round trips.
  const pointers = await regionsRepo.lockAssignmentState(tx, regionIds);
  const byRegion = new Map<number, { operatorId: number; online: boolean; load: number }[]>();
  for (const c of candidates) {
    const list = byRegion.get(c.region_id) ?? [];
    list.push({ operatorId: c.operator_id, online: c.status === 'online', load: c.load });
    byRegion.set(c.region_id, list);
  }
  const picker = new OperatorPicker(
    regionMap,
    byRegion,
    new Map(pointers.map((p) => [p.region_id, p.last_operator_id])),
    active,
    globalDefault,
  );

  const newLeads: { id: number; responsibleId: number | null; reason: string }[] = [];
  const owners: Record<'lead' | 'contact' | 'company', { id: number; responsibleId: number }[]> = {
    lead: [],
    contact: [],
    company: [],
  };
  const acts: { id: number; responsibleId: number }[] = [];
  const ownerActs: { ownerType: string; ownerId: number; responsibleId: number }[] = [];
  for (const d of needing) {
    const a = picker.assign(d.regionId);
    const owner = w.resolve(d.target);
    if (d.target.kind === 'new-lead') {
      newLeads.push({
        id: owner!.id,
        responsibleId: a.operatorId,
        reason: d.regionRule ? `${a.reason} (region by ${d.regionRule})` : a.reason,
      });
    } else if (owner && a.operatorId != null) {
      owners[owner.type].push({ id: owner.id, responsibleId: a.operatorId });
    }
    const act = w.activityOf(d);
    if (a.operatorId == null) continue;
    if (owner) ownerActs.push({ ownerType: owner.type, ownerId: owner.id, responsibleId: a.operatorId });
    else if (act != null) acts.push({ id: act, responsibleId: a.operatorId });
  }
  await writeAssignment(tx, {
    newLeads,
    owners,
    activities: acts,
    ownerActivities: ownerActs,
    pointers: picker.changedPointers(),
  });
}

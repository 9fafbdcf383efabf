import type { Queryable } from '../../crm-core/db/database.js';
import { findIdentities } from '../../crm-core/repositories/identity.repository.js';
import { activeOperatorIds, regionCandidates } from '../../crm-core/repositories/operator.repository.js';
import { getSetting, listRegions } from '../../crm-core/repositories/region.repository.js';
import { assignmentPointers, operatorsBrief } from '../../crm-core/repositories/report.repository.js';
import { type Identity, identityKey, normaliseSender } from '../../event/identity.js';
import {
  junkReturnFor,
  type LookupQuery,
  type LookupResult,
  loadOwners,
} from '../../router/client-lookup.js';
import { matchClient } from '../../router/client-match.js';
import { OperatorPicker } from '../../router/operator-picker.js';
import { ownerKey } from '../../router/owner-resolution.js';
import { type RegionHints, resolveRegion } from '../../router/region-resolver.js';

/**
 * The client look-up as it was before the one-statement snapshot: one repository query after another (4-6 in
 * sequence), each rule applied as soon as its input was read. Kept for the tests only, as the reference the
 * snapshot's answers must equal.
 */
export async function referenceLookup(
  db: Queryable,
  q: LookupQuery,
  defaultCountry: string,
  hints: Omit<RegionHints, 'callerPhone'> = {},
): Promise<LookupResult> {
  const identities = normaliseSender(
    {
      phones: q.phone ? [q.phone] : [],
      emails: q.email ? [q.email] : [],
      messengerIds: q.telegram ? [{ kind: 'telegram', id: q.telegram }] : [],
    },
    defaultCountry,
  );
  const rows = await findIdentities(db, identities);
  const holders = new Map(
    rows.map((r) => [
      identityKey(r as Pick<Identity, 'kind' | 'value'>),
      { type: r.owner_type, id: r.owner_id },
    ]),
  );
  const owners = await loadOwners(db, [...holders.values()]);
  const { best, others, matchedBy } = matchClient(
    identities,
    holders,
    owners,
    await junkReturnFor(db, owners),
  );
  if (!best) return { found: false, identities, wouldAssign: await predict(db, identities, hints) };
  const info = owners.get(ownerKey(best));
  const responsibleId = info?.responsible_id ?? null;
  const [responsible] = responsibleId != null ? await operatorsBrief(db, [responsibleId]) : [];
  return {
    found: true,
    entityType: best.type,
    entityId: best.id,
    name: info?.name ?? null,
    responsible: responsible ? { ...responsible, active: info?.responsible_active === true } : null,
    matchedBy: matchedBy.get(ownerKey(best)) ?? [],
    duplicates: others.map((o) => ({
      entityType: o.type,
      entityId: o.id,
      name: owners.get(ownerKey(o))?.name ?? null,
      matchedBy: matchedBy.get(ownerKey(o)) ?? [],
    })),
  };
}

async function predict(db: Queryable, identities: Identity[], hints: Omit<RegionHints, 'callerPhone'>) {
  const regions = await listRegions(db);
  const callerPhone = identities.find((i) => i.kind === 'phone' && i.valid)?.value;
  const region = resolveRegion(regions, { ...hints, callerPhone });
  const regionIds = region ? [region.regionId] : [];
  const regionMap = new Map(regions.map((r) => [r.id, r]));
  const leastLoaded = regionIds.filter((id) => regionMap.get(id)?.strategy === 'least_loaded');
  const candidates = await regionCandidates(db, regionIds, leastLoaded);
  const pointers = await assignmentPointers(db, regionIds);
  const globalDefault = (await getSetting<number | null>(db, 'default_operator_id')) ?? null;
  const regionDefault = region ? (regionMap.get(region.regionId)?.default_operator_id ?? null) : null;
  const defaults = [globalDefault, regionDefault].filter((x): x is number => x != null);
  const picker = new OperatorPicker(
    regionMap,
    new Map(
      regionIds.map((id) => [
        id,
        candidates.map((c) => ({ operatorId: c.operator_id, online: c.status === 'online', load: c.load })),
      ]),
    ),
    new Map(pointers.map((p) => [p.region_id, p.last_operator_id])),
    await activeOperatorIds(db, defaults),
    globalDefault,
  );
  const a = picker.assign(region?.regionId ?? null);
  return {
    regionId: region?.regionId ?? null,
    regionRule: region?.rule ?? null,
    operatorId: a.operatorId,
    reason: a.reason,
  };
}

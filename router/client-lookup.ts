import type { Queryable } from '../crm-core/db/database.js';
import { findIdentities, findOwners, type OwnerInfo } from '../crm-core/repositories/identity.repository.js';
import { activeOperatorIds, regionCandidates } from '../crm-core/repositories/operator.repository.js';
import { getSetting, listRegions } from '../crm-core/repositories/region.repository.js';
import {
  assignmentPointers,
  type OperatorBrief,
  operatorsBrief,
} from '../crm-core/repositories/report.repository.js';
import { getJunkReturn, JUNK_RETURN_DEFAULT, type JunkReturn } from '../crm-core/services/crm-settings.js';
import { type Identity, identityKey, normaliseSender } from '../event/identity.js';
import { AppError } from '../lib/errors.js';
import { matchClient } from './client-match.js';
import { OperatorPicker } from './operator-picker.js';
import { type OwnerRef, ownerKey, redirectOf } from './owner-resolution.js';
import { type RegionHints, resolveRegion } from './region-resolver.js';

export interface LookupQuery {
  phone?: string;
  email?: string;
  telegram?: string;
}

type IdentityRef = Pick<Identity, 'kind' | 'value'>;

export type LookupResult =
  | {
      found: true;
      entityType: OwnerRef['type'];
      entityId: number;
      name: string | null;
      responsible: (OperatorBrief & { active: boolean }) | null;
      matchedBy: IdentityRef[];
      duplicates: {
        entityType: OwnerRef['type'];
        entityId: number;
        name: string | null;
        matchedBy: IdentityRef[];
      }[];
    }
  | {
      found: false;
      /** The query as the router would store it (E.164 phone, lower-case email). */
      identities: Identity[];
      wouldAssign: {
        regionId: number | null;
        regionRule: string | null;
        operatorId: number | null;
        reason: string;
      };
    };

/**
 * "Who is this client and who handles them?" for an operator answering a call or a message. Reads only: the
 * answer for an unknown client is a prediction of what the router would do for a first contact now.
 */
export async function lookupClient(
  db: Queryable,
  q: LookupQuery,
  defaultCountry: string,
  /** Extra region hints for the prediction, e.g. the telephony line's region and number (call tracking). */
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
  if (identities.length === 0) {
    throw new AppError('VALIDATION', 'phone, email, telegram: give at least one of them', {
      fields: ['phone', 'email', 'telegram'],
    });
  }
  const rows = await findIdentities(db, identities);
  const holders = new Map(
    rows.map((r) => [identityKey(r as IdentityRef), { type: r.owner_type, id: r.owner_id }]),
  );
  const owners = await loadOwners(db, [...holders.values()]);
  const { best, others, matchedBy } = matchClient(
    identities,
    holders,
    owners,
    await junkReturnFor(db, owners),
  );
  if (!best) return { found: false, identities, wouldAssign: await predictAssignment(db, identities, hints) };

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

/**
 * Holders and where they lead now: for converted leads the contacts they became, for merged entities their
 * survivors, followed to the end of the chain (effectiveOwner needs them all). With lock (the router, inside its
 * transaction), every entity row read is locked FOR KEY SHARE: see findOwners for why merges need it.
 */
export async function loadOwners(
  db: Queryable,
  refs: OwnerRef[],
  opts: { lock?: boolean } = {},
): Promise<Map<string, OwnerInfo>> {
  const key = (o: OwnerInfo) => ownerKey({ type: o.owner_type, id: o.owner_id });
  const owners = new Map<string, OwnerInfo>();
  let pending = refs;
  for (let hops = 0; pending.length > 0 && hops < 16; hops++) {
    const rows = await findOwners(db, pending, opts);
    for (const o of rows) owners.set(key(o), o);
    pending = rows.map(redirectOf).filter((r): r is OwnerRef => !!r && !owners.has(ownerKey(r)));
  }
  return owners;
}

/** The junk-return policy, read only when a junk lead is among the owners (it matters for nothing else). */
export async function junkReturnFor(db: Queryable, owners: Map<string, OwnerInfo>): Promise<JunkReturn> {
  return [...owners.values()].some((o) => o.status === 'junk') ? getJunkReturn(db) : JUNK_RETURN_DEFAULT;
}

/** The router's region rules and operator picker, fed the same inputs, without locking or saving pointers. */
async function predictAssignment(
  db: Queryable,
  identities: Identity[],
  hints: Omit<RegionHints, 'callerPhone'>,
) {
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

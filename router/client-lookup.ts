import type { Queryable } from '../crm-core/db/database.js';
import { findOwners, type OwnerInfo } from '../crm-core/repositories/identity.repository.js';
import { listRegions, type RegionRow } from '../crm-core/repositories/region.repository.js';
import { type OperatorBrief, operatorsBrief } from '../crm-core/repositories/report.repository.js';
import {
  type RoutingSnapshot,
  routingSnapshot,
  type SnapshotOwner,
} from '../crm-core/repositories/routing.repository.js';
import {
  getJunkReturn,
  JUNK_RETURN_DEFAULT,
  type JunkReturn,
  parseJunkReturn,
} from '../crm-core/services/crm-settings.js';
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

/** Where the region rules come from: the database each time (the default), or a cache (regions-cache.ts). */
export type RegionsSource = (db: Queryable) => Promise<RegionRow[]>;

export interface LookupOptions {
  regions?: RegionsSource;
}

/**
 * "Who is this client and who handles them?" for an operator answering a call or a message. Reads only: the
 * answer for an unknown client is a prediction of what the router would do for a first contact now.
 *
 * One statement (routingSnapshot) reads the holders, their redirect chains, the responsible operators and the
 * prediction inputs; the rules stay here, in the router's pure functions (matchClient, resolveRegion,
 * OperatorPicker). With a regions cache that is the whole database work of an answer. Rare cases cost more: a
 * redirect chain the statement did not follow to its end (completeChains), and a caller the statement took for a
 * client (some owner is not a junk lead) whom matchClient then finds to be nobody, e.g. a lead merged into a junk
 * lead: the prediction is then read by a second statement.
 */
export async function lookupClient(
  db: Queryable,
  q: LookupQuery,
  defaultCountry: string,
  /** Extra region hints for the prediction, e.g. the telephony line's region and number (call tracking). */
  hints: Omit<RegionHints, 'callerPhone'> = {},
  opts: LookupOptions = {},
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
  // The region is resolved before the statement, so the statement can read that region's prediction inputs.
  const regions = await (opts.regions ?? listRegions)(db);
  const callerPhone = identities.find((i) => i.kind === 'phone' && i.valid)?.value;
  const region = resolveRegion(regions, { ...hints, callerPhone });
  const regionRow = region ? regions.find((r) => r.id === region.regionId) : undefined;
  const prediction = {
    regionId: region?.regionId ?? null,
    leastLoaded: regionRow?.strategy === 'least_loaded',
    regionDefaultId: regionRow?.default_operator_id ?? null,
  };
  const snap = await routingSnapshot(db, identities, prediction);

  const holders = new Map(
    snap.held.map((r) => [identityKey(r as IdentityRef), { type: r.owner_type, id: r.owner_id }]),
  );
  const owners = new Map<string, SnapshotOwner>(
    snap.owners.map((o) => [ownerKey({ type: o.owner_type, id: o.owner_id }), o]),
  );
  await completeChains(db, owners);
  const { best, others, matchedBy } = matchClient(
    identities,
    holders,
    owners,
    parseJunkReturn(snap.junkReturn),
  );
  if (!best) {
    // Not predicted when some owner looked like a client; read the prediction alone (no identities).
    const p = snap.predicted ? snap : await routingSnapshot(db, [], prediction);
    return { found: false, identities, wouldAssign: predictAssignment(p, regions, region) };
  }

  const info = owners.get(ownerKey(best));
  const responsible =
    info?.responsible_id != null && info.responsible_name != null
      ? {
          id: info.responsible_id,
          name: info.responsible_name,
          extension: info.responsible_extension,
          active: info.responsible_active === true,
        }
      : null;
  return {
    found: true,
    entityType: best.type,
    entityId: best.id,
    name: info?.name ?? null,
    responsible,
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
 * The statement follows redirects up to 16 hops, as loadOwners does; should a redirect still point at an entity
 * it did not read, loadOwners reads the rest, so the answer never depends on the statement following the chain
 * exactly as redirectOf does. (Without briefs for those owners: a responsible is then looked up on its own.)
 */
async function completeChains(db: Queryable, owners: Map<string, SnapshotOwner>): Promise<void> {
  const missing = [...owners.values()]
    .map(redirectOf)
    .filter((r): r is OwnerRef => !!r && !owners.has(ownerKey(r)));
  if (missing.length === 0) return;
  const more = await loadOwners(db, missing);
  const ids = [...more.values()].flatMap((o) => (o.responsible_id != null ? [o.responsible_id] : []));
  const briefs = new Map((await operatorsBrief(db, ids)).map((b) => [b.id, b]));
  for (const [key, o] of more) {
    if (owners.has(key)) continue;
    const b = o.responsible_id != null ? briefs.get(o.responsible_id) : undefined;
    owners.set(key, { ...o, responsible_name: b?.name ?? null, responsible_extension: b?.extension ?? null });
  }
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

/** The router's operator picker, fed the snapshot's inputs, without locking or saving pointers. */
function predictAssignment(
  snap: RoutingSnapshot,
  regions: RegionRow[],
  region: { regionId: number; rule: string } | undefined,
) {
  const regionIds = region ? [region.regionId] : [];
  const globalDefault = (snap.defaultOperator as number | null | undefined) ?? null;
  const picker = new OperatorPicker(
    new Map(regions.map((r) => [r.id, r])),
    new Map(
      regionIds.map((id) => [
        id,
        snap.candidates.map((c) => ({
          operatorId: c.operator_id,
          online: c.status === 'online',
          load: c.load,
        })),
      ]),
    ),
    new Map(regionIds.map((id) => [id, snap.pointer])),
    new Set(snap.activeDefaults),
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

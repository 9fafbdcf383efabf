import type { OwnerInfo } from '../crm-core/repositories/identity.repository.js';
import type { JunkReturn } from '../crm-core/services/crm-settings.js';
import type { Identity } from '../event/identity.js';
import { identityKey } from '../event/identity.js';
import { effectiveOwner, type OwnerRef, ownerKey, rankOwners } from './owner-resolution.js';

export interface ClientMatch {
  best?: OwnerRef;
  /** Other clients the same identities point at: what the router would record as duplicate candidates. */
  others: OwnerRef[];
  /** Which of the queried identities led to each owner (by ownerKey). */
  matchedBy: Map<string, Pick<Identity, 'kind' | 'value'>[]>;
}

/**
 * The router's matching rule applied to one query, in memory: each identity's holder is resolved with
 * effectiveOwner (a converted lead means its contact, a merged entity its survivor, a junk lead nobody
 * unless the business reopens junk leads) and the holders are ranked with
 * rankOwners, in the order of the identities (phones first, as normaliseSender gives them). Using the same two
 * functions is what makes the look-up answer the owner the next contact would actually land on.
 */
export function matchClient(
  identities: Identity[],
  holders: Map<string, OwnerRef>,
  owners: Map<string, OwnerInfo>,
  junkReturn?: JunkReturn,
): ClientMatch {
  const matches: OwnerRef[] = [];
  const matchedBy = new Map<string, Pick<Identity, 'kind' | 'value'>[]>();
  for (const id of identities) {
    const held = holders.get(identityKey(id));
    const eff = held && effectiveOwner(held, owners, junkReturn);
    if (!eff) continue;
    matches.push(eff);
    const list = matchedBy.get(ownerKey(eff)) ?? [];
    list.push({ kind: id.kind, value: id.value });
    matchedBy.set(ownerKey(eff), list);
  }
  const { best, others } = rankOwners(matches);
  return { best, others, matchedBy };
}

import type { OwnerInfo, OwnerType } from '../crm-core/repositories/identity.repository.js';
import { JUNK_RETURN_DEFAULT, type JunkReturn } from '../crm-core/services/crm-settings.js';

export interface OwnerRef {
  type: OwnerType;
  id: number;
}
export const ownerKey = (o: OwnerRef) => `${o.type}:${o.id}`;

/** A client is a contact or company; an open lead is a client we do not know yet. Higher wins. */
const RANK: Record<OwnerType, number> = { contact: 3, company: 2, lead: 1 };

/**
 * Where a stored reference really leads now: a converted lead to its contact, a merged entity to its survivor
 * (followed through the chain the owners map holds). Undefined for a reference that does not move.
 */
export function redirectOf(o: OwnerInfo): OwnerRef | undefined {
  if (o.merged_into_type && o.merged_into_id != null)
    return { type: o.merged_into_type, id: o.merged_into_id };
  if (o.owner_type === 'lead' && o.status === 'converted' && o.converted_contact_id != null)
    return { type: 'contact', id: o.converted_contact_id };
  return undefined;
}

/** Follows redirectOf through the owners map (a survivor may itself have been merged later). */
export function currentOwner(ref: OwnerRef, owners: Map<string, OwnerInfo>): OwnerRef {
  let cur = ref;
  for (let hops = 0; hops < 16; hops++) {
    const info = owners.get(ownerKey(cur));
    const next = info && redirectOf(info);
    if (!next) return cur;
    cur = next;
  }
  return cur;
}

/**
 * Where an identity really points: a converted lead resolves to its contact and a merged entity to its
 * survivor; a junk lead points nowhere (the client comes back as a new lead), unless the business chose to
 * reopen junk leads (JunkReturn 'reopen').
 */
export function effectiveOwner(
  ref: OwnerRef,
  owners: Map<string, OwnerInfo>,
  junkReturn: JunkReturn = JUNK_RETURN_DEFAULT,
): OwnerRef | undefined {
  const cur = currentOwner(ref, owners);
  if (cur.type !== 'lead') return cur;
  const lead = owners.get(ownerKey(cur));
  if (lead?.status === 'junk' && junkReturn !== 'reopen') return undefined;
  return cur;
}

/**
 * Picks the best owner among those an event's identities point at: contact before company before open lead;
 * among equals the one matched by more identities, then the one matched by the earlier (stronger) identity.
 * Returns the others too: they are duplicate candidates.
 */
export function rankOwners(matches: OwnerRef[]): { best?: OwnerRef; others: OwnerRef[] } {
  const tally = new Map<string, { ref: OwnerRef; hits: number; first: number }>();
  matches.forEach((ref, i) => {
    const t = tally.get(ownerKey(ref));
    if (t) t.hits += 1;
    else tally.set(ownerKey(ref), { ref, hits: 1, first: i });
  });
  const sorted = [...tally.values()].sort(
    (a, b) => RANK[b.ref.type] - RANK[a.ref.type] || b.hits - a.hits || a.first - b.first,
  );
  return { best: sorted[0]?.ref, others: sorted.slice(1).map((t) => t.ref) };
}

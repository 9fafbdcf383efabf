import type { OwnerInfo, OwnerType } from '../crm-core/repositories/identity.repository.js';

export interface OwnerRef {
  type: OwnerType;
  id: number;
}
export const ownerKey = (o: OwnerRef) => `${o.type}:${o.id}`;

/** A client is a contact or company; an open lead is a client we do not know yet. Higher wins. */
const RANK: Record<OwnerType, number> = { contact: 3, company: 2, lead: 1 };

/**
 * Where an identity really points: a converted lead resolves to its contact; a junk lead points nowhere
 * (the client may come back as a new lead).
 */
export function effectiveOwner(ref: OwnerRef, owners: Map<string, OwnerInfo>): OwnerRef | undefined {
  if (ref.type !== 'lead') return ref;
  const lead = owners.get(ownerKey(ref));
  if (!lead) return ref;
  if (lead.status === 'converted' && lead.converted_contact_id != null)
    return { type: 'contact', id: lead.converted_contact_id };
  if (lead.status === 'junk') return undefined;
  return ref;
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

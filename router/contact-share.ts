import type { Queryable } from '../crm-core/db/database.js';
import { leadHasOnlyChat, mergeLeadInto } from '../crm-core/repositories/client-merge.repository.js';
import type { DuplicateCandidate } from '../crm-core/repositories/duplicate.repository.js';
import { findIdentities } from '../crm-core/repositories/identity.repository.js';
import { type Identity, identityKey, normalisePhone } from '../event/identity.js';
import type { InboundContact } from '../event/inbound-contact.js';
import { loadOwners } from './client-lookup.js';
import { effectiveOwner, type OwnerRef, ownerKey } from './owner-resolution.js';

/**
 * A client who shares their own contact in a chat (Telegram `message.contact` whose user_id is the sender; the
 * connector sets content.message.sharedContact.ownPhone) tells us their phone: it becomes one of the chat's
 * identities, which joins the chat to the calls and forms of that phone.
 */
export function withSharedPhone(e: InboundContact, defaultCountry: string): InboundContact {
  const c = e.content.message?.sharedContact;
  if (!c?.ownPhone || !c.phone) return e;
  const phone = normalisePhone(c.phone, defaultCountry);
  if (!phone.valid || e.sender.identities.some((i) => identityKey(i) === identityKey(phone))) return e;
  // Appended: the first identity stays the chat's (the Kafka key the connector chose).
  return { ...e, sender: { ...e.sender, identities: [...e.sender.identities, phone] } };
}

/** The chat's own identity: the messenger's user id (a WhatsApp id is a phone). */
export function chatIdentity(e: InboundContact): Identity | undefined {
  const ids = e.sender.identities;
  return (
    ids.find((i) => i.kind === e.channel) ??
    (e.channel === 'whatsapp' ? ids.find((i) => i.kind === 'phone') : undefined) ??
    ids[0]
  );
}

/**
 * When a shared phone belongs to another client than the chat's identity, before the batch is planned:
 * - the chat's entity is a lead the chat itself created (nothing but this channel's messages): it is joined onto
 *   the phone's client (identities, activities, conversations move; the lead becomes junk, with a resolved
 *   duplicate row naming where it went), so the message and the conversation land on that client: no second lead;
 * - the chat's entity has history of its own: nothing is merged automatically; the phone is left out of the
 *   event (it belongs to the other client) and a duplicate candidate is recorded for a person to decide.
 * Returns the events to plan (some without the shared phone) and the duplicate candidates to record.
 */
export async function joinSharedContacts(
  tx: Queryable,
  events: InboundContact[],
): Promise<{ events: InboundContact[]; duplicates: DuplicateCandidate[] }> {
  const shares = events.flatMap((e, index) => {
    const c = e.content.message?.sharedContact;
    const chat = chatIdentity(e);
    const phone = c?.ownPhone ? e.sender.identities.find((i) => i.kind === 'phone' && i !== chat) : undefined;
    return chat && phone && identityKey(chat) !== identityKey(phone) ? [{ index, e, chat, phone }] : [];
  });
  if (shares.length === 0) return { events, duplicates: [] };

  const rows = await findIdentities(
    tx,
    shares.flatMap((s) => [s.chat, s.phone]),
  );
  const holders = new Map(
    rows.map((r) => [identityKey(r as never), { type: r.owner_type, id: r.owner_id } as OwnerRef]),
  );
  const owners = await loadOwners(tx, [...holders.values()]);
  const out = [...events];
  const duplicates: DuplicateCandidate[] = [];
  const merged = new Map<string, OwnerRef>(); // lead merged in this batch -> where it went
  for (const s of shares) {
    const heldChat = holders.get(identityKey(s.chat));
    const heldPhone = holders.get(identityKey(s.phone));
    let ofChat = heldChat && effectiveOwner(heldChat, owners);
    if (ofChat && merged.has(ownerKey(ofChat))) ofChat = merged.get(ownerKey(ofChat));
    const ofPhone = heldPhone && effectiveOwner(heldPhone, owners);
    if (!ofChat || !ofPhone || ownerKey(ofChat) === ownerKey(ofPhone)) continue;
    if (ofChat.type === 'lead' && (await leadHasOnlyChat(tx, ofChat.id, s.e.channel))) {
      await mergeLeadInto(tx, {
        leadId: ofChat.id,
        into: ofPhone,
        responsibleId: owners.get(ownerKey(ofPhone))?.responsible_id ?? null,
        eventId: s.e.id,
        identity: s.chat,
      });
      merged.set(ownerKey(ofChat), ofPhone);
      continue;
    }
    duplicates.push({
      eventId: s.e.id,
      chosenType: ofChat.type,
      chosenId: ofChat.id,
      otherType: ofPhone.type,
      otherId: ofPhone.id,
      identityKind: s.phone.kind,
      identityValue: s.phone.value,
    });
    out[s.index] = {
      ...s.e,
      sender: { ...s.e.sender, identities: s.e.sender.identities.filter((i) => i !== s.phone) },
    };
  }
  return { events: out, duplicates };
}

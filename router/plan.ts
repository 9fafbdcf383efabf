import type { OwnerInfo } from '../crm-core/repositories/identity.repository.js';
import type { RegionRow } from '../crm-core/repositories/region.repository.js';
import type { JunkReturn } from '../crm-core/services/crm-settings.js';
import { identityKey } from '../event/identity.js';
import type { InboundContact } from '../event/inbound-contact.js';
import { callKey } from './call-merge.js';
import { type KnownMessage, MessageIndex, parentsFirst } from './email-thread.js';
import { effectiveOwner, type OwnerRef, ownerKey, rankOwners } from './owner-resolution.js';
import { type RegionHints, resolveRegion } from './region-resolver.js';

/** Where an event's activity goes: an existing entity, a lead created by this batch, or the channel queue. */
export type Target =
  | { kind: 'existing'; ref: OwnerRef }
  | { kind: 'new-lead'; index: number }
  | { kind: 'queue' };

export interface Decision {
  event: InboundContact;
  target: Target;
  /** Identities to attach to the target (new to the CRM). */
  newIdentities: InboundContact['sender']['identities'];
  /** Identities that were held by junk leads and now move to the target. */
  takeOver: InboundContact['sender']['identities'];
  duplicates: { other: OwnerRef; identity: { kind: string; value: string } }[];
  /** Region for assignment when the target needs an operator. */
  regionId: number | null;
  regionRule?: string;
  /** True when an operator must be chosen (new lead, or known client whose responsible left). */
  needsOperator: boolean;
  /** The thread the activity joins (email): the event's own root, or for a bounce the bounced message's thread. */
  threadRef?: string | null;
  /**
   * A call event whose number is not its call's owner's: the call stays where it is, and the number is only
   * recorded on it (details.call.otherNumbers).
   */
  strayNumber?: true;
}

export interface PlanLookups {
  identityOwners: Map<string, OwnerRef>;
  owners: Map<string, OwnerInfo>;
  /** Message-ID -> owner (null: the queue) and thread of a message we received or sent (email threading). */
  messages: Map<string, KnownMessage<Target>>;
  /** Call key -> owner of the call's stored activity, unless that is the line queue. */
  callOwners: Map<string, OwnerRef>;
  regions: RegionRow[];
  /** What a junk lead's identities mean: nobody (a new lead takes them over) or the junk lead, reopened. */
  junkReturn?: JunkReturn;
}

export interface PlanOptions {
  /** May an event with identities but no match create a lead? (outbound calls only when the line says so) */
  mayCreateLead(e: InboundContact): boolean;
}

/**
 * Decides, in memory and in event order, what each event of a batch does. A client unknown to the database
 * but seen earlier in the same batch resolves to the lead that earlier event creates, so a batch never makes
 * two leads for one client; in the same way an email finds its thread among the messages routed before it
 * (a message is routed before the answers of the same batch that point at it). Race with other routers is
 * handled by the caller (unique identities + retry; call keys locked before the look-ups).
 *
 * One call, one owner: the first event of a vendor call that reaches a client (stored, or earlier in the batch)
 * decides where the call's one activity lives; every other event of that call follows it, whatever number it
 * names. A number that is not the owner's is recorded on the call, never made a client, so no lead is ever
 * created for an event whose activity lands elsewhere.
 */
export function planBatch(
  events: InboundContact[],
  lk: PlanLookups,
  opts: PlanOptions,
): { decisions: Decision[]; newLeads: number[] } {
  const identityOwners = new Map(lk.identityOwners);
  const batchLeads = new Map<string, number>(); // identity key -> index of a lead this batch creates
  const decisions: Decision[] = [];
  const newLeads: number[] = []; // index into decisions of the event creating each new lead
  const messages = new MessageIndex(lk.messages);
  // Call key -> where the call lives; needsOperator is carried by the first of the call's decisions only.
  const calls = new Map<string, { target: Target; needsOperator: boolean }>();
  for (const [key, ref] of lk.callOwners)
    calls.set(key, { target: { kind: 'existing', ref }, needsOperator: !responsibleActive(ref, lk.owners) });
  /** Does one of the event's numbers belong to the call's owner? */
  const ownersNumber = (e: InboundContact, t: Target) =>
    e.sender.identities.length === 0 ||
    e.sender.identities.some((i) => {
      const k = identityKey(i);
      if (t.kind === 'new-lead') return batchLeads.get(k) === t.index;
      const held = identityOwners.get(k);
      const eff = held && effectiveOwner(held, lk.owners, lk.junkReturn);
      return t.kind === 'existing' && [held, eff].some((o) => o && ownerKey(o) === ownerKey(t.ref));
    });

  for (const e of parentsFirst(events)) {
    const ids = e.sender.identities;
    const robot = typeof e.meta?.robot === 'string';
    const region = resolveRegion(lk.regions, regionHints(e));
    // One literal of one shape per decision: spreading a shared `base` into each literal cost ~8 µs an event
    // (V8 builds such objects slowly and GC pays again), more than the rest of the plan together.
    const decide = (
      target: Target,
      needsOperator: boolean,
      newIdentities: Decision['newIdentities'] = [],
      takeOver: Decision['takeOver'] = [],
      duplicates: Decision['duplicates'] = [],
    ): Decision => ({
      event: e,
      target,
      newIdentities,
      takeOver,
      duplicates,
      regionId: region?.regionId ?? null,
      regionRule: region?.rule,
      needsOperator,
    });
    const ofCall = callKey(e);
    const call = ofCall ? calls.get(ofCall) : undefined;
    if (call) {
      const d = decide(call.target, call.needsOperator);
      if (!ownersNumber(e, call.target)) d.strayNumber = true;
      decisions.push(d);
      call.needsOperator = false;
      continue;
    }
    const matches: { ref: OwnerRef; identity: InboundContact['sender']['identities'][number] }[] = [];
    const takeOver: Decision['takeOver'] = [];
    let batchLead: number | undefined;
    for (const id of ids) {
      const key = identityKey(id);
      const inBatch = batchLeads.get(key);
      if (inBatch !== undefined) {
        batchLead ??= inBatch;
        continue;
      }
      const held = identityOwners.get(key);
      if (!held) continue;
      const eff = effectiveOwner(held, lk.owners, lk.junkReturn);
      if (eff) matches.push({ ref: eff, identity: id });
      else takeOver.push(id); // held by a junk lead
    }
    // The thread beats identities: an answer from another address of the client joins the conversation.
    const thread = messages.ownerOf(e);
    const { best, others } = rankOwners(matches.map((m) => m.ref));
    const chosen = thread ? (thread.kind === 'existing' ? thread.ref : undefined) : best;
    if (thread?.kind === 'new-lead') batchLead = thread.index;

    if (chosen) {
      const known = new Set(matches.map((m) => identityKey(m.identity)));
      decisions.push(
        decide(
          { kind: 'existing', ref: chosen },
          !responsibleActive(chosen, lk.owners),
          robot
            ? []
            : ids.filter(
                (i) =>
                  !known.has(identityKey(i)) &&
                  !identityOwners.has(identityKey(i)) &&
                  !batchLeads.has(identityKey(i)),
              ),
          robot ? [] : takeOver,
          matches
            .filter(
              (m) =>
                ownerKey(m.ref) !== ownerKey(chosen) && others.some((o) => ownerKey(o) === ownerKey(m.ref)),
            )
            .map((m) => ({ other: m.ref, identity: m.identity })),
        ),
      );
      if (!robot)
        for (const i of ids)
          if (!identityOwners.has(identityKey(i))) identityOwners.set(identityKey(i), chosen);
    } else if (batchLead !== undefined) {
      decisions.push(decide({ kind: 'new-lead', index: batchLead }, false));
      // identities the first event did not have are attached to the same new lead
      const extra = ids.filter((i) => !batchLeads.has(identityKey(i)) && !identityOwners.has(identityKey(i)));
      decisions[newLeads[batchLead]!]!.newIdentities.push(...extra);
      for (const i of extra) batchLeads.set(identityKey(i), batchLead);
    } else if (ids.length > 0 && !robot && opts.mayCreateLead(e)) {
      const index = newLeads.length;
      newLeads.push(decisions.length);
      const fresh = ids.filter((i) => !identityOwners.has(identityKey(i)) || takeOver.includes(i));
      decisions.push(
        decide(
          { kind: 'new-lead', index },
          true,
          fresh.filter((i) => !takeOver.includes(i)),
          takeOver,
        ),
      );
      for (const i of fresh) batchLeads.set(identityKey(i), index);
    } else {
      // No identity (withheld number), a robot, or an outbound call to an unknown number: recorded, never lost.
      decisions.push(decide({ kind: 'queue' }, !robot));
    }
    const d = decisions[decisions.length - 1]!;
    if (e.thread) {
      d.threadRef = messages.threadRefOf(e);
      messages.remember(e.thread.messageId, {
        target: d.target.kind === 'queue' ? null : d.target,
        threadRef: d.threadRef,
      });
    }
    if (ofCall && d.target.kind !== 'queue') calls.set(ofCall, { target: d.target, needsOperator: false });
  }
  // Events of a call that waited in the queue (no number yet: a recording callback, a withheld leg) before a
  // later event of the batch reached a client go with the call: its activity moves there (router/call-activities).
  for (const d of decisions) {
    const call = d.target.kind === 'queue' ? calls.get(callKey(d.event) ?? '') : undefined;
    if (!call) continue;
    d.target = call.target;
    d.needsOperator = false;
    if (!ownersNumber(d.event, call.target)) d.strayNumber = true;
  }
  return { decisions, newLeads };
}

function responsibleActive(ref: OwnerRef, owners: Map<string, OwnerInfo>): boolean {
  const o = owners.get(ownerKey(ref));
  return !!o && o.responsible_id != null && o.responsible_active === true;
}

export function regionHints(e: InboundContact): RegionHints {
  const phone = e.sender.identities.find((i) => i.kind === 'phone' && i.valid)?.value;
  // The form's, line's, messenger account's or store's own region (connectors copy it into meta) wins over the rules.
  const explicit = (e.meta?.formRegionId ??
    e.meta?.lineRegionId ??
    e.meta?.accountRegionId ??
    e.meta?.storeRegionId) as number | undefined;
  return {
    explicitRegionId: typeof explicit === 'number' ? explicit : undefined,
    callerPhone: phone,
    calledLine: e.regionHints.calledLine ?? (e.channel === 'phone' ? e.source.key : undefined),
    formRegion: e.regionHints.formRegion,
    formCity: e.regionHints.formCity,
    country: e.regionHints.country,
  };
}

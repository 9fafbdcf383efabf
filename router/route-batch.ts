import type { Queryable } from '../crm-core/db/database.js';
import * as activities from '../crm-core/repositories/activity.repository.js';
import * as duplicates from '../crm-core/repositories/duplicate.repository.js';
import type { OwnerInfo } from '../crm-core/repositories/identity.repository.js';
import * as identities from '../crm-core/repositories/identity.repository.js';
import * as leads from '../crm-core/repositories/lead.repository.js';
import * as outbound from '../crm-core/repositories/outbound-email.repository.js';
import * as processed from '../crm-core/repositories/processed-event.repository.js';
import type * as regionsRepo from '../crm-core/repositories/region.repository.js';
import { recordChange } from '../crm-core/services/timeline.js';
import { identityKey, normaliseEmail } from '../event/identity.js';
import type { InboundContact } from '../event/inbound-contact.js';
import { AppError } from '../lib/errors.js';
import { buildActivities } from './activities.js';
import { leadTitle } from './activity-kind.js';
import { assignOperators } from './assign.js';
import type { Firing } from './automation/fire.js';
import { automateRouted } from './automation/on-routed.js';
import { callKey } from './call-merge.js';
import { junkReturnFor, loadOwners } from './client-lookup.js';
import { joinSharedContacts, withSharedPhone } from './contact-share.js';
import { isMessengerMessage, type MessageItem, routeMessages } from './conversations.js';
import { bounceOf, threadParents } from './email-thread.js';
import { writeOrderDeals } from './order-deals.js';
import { currentOwner, type OwnerRef, ownerKey } from './owner-resolution.js';
import { type Decision, planBatch, type Target } from './plan.js';

export interface RouteOptions {
  callbackDeadlineMin: number;
  meaningfulCallSec: number;
  /** A conversation without messages for this long is closed; the next message opens a new one. */
  conversationIdleHours: number;
  /** Country of phones shared in chats without a country code. */
  defaultCountry: string;
  regions: (tx: Queryable) => Promise<regionsRepo.RegionRow[]>;
}

export interface RouteOutcome {
  eventId: string;
  ownerType: string | null;
  ownerId: number | null;
  activityId: number | null;
  createdLead: boolean;
  /** What automation rules did on this contact (counted once the batch commits). */
  automation?: Firing[];
}

/**
 * Routes one batch inside the caller's transaction: claim event ids, look everything up in a few set-based
 * queries, decide in memory (planBatch), then write with set-based statements. If another router created one
 * of our new clients' identities meanwhile, IDENTITY_RACE is thrown; the caller rolls back and retries, and the
 * retry finds that client as known. That, not timing, is what keeps "exactly one lead per new client".
 */
export async function routeBatch(
  tx: Queryable,
  batch: InboundContact[],
  opts: RouteOptions,
): Promise<RouteOutcome[]> {
  const unique = [...new Map(batch.map((e) => [e.id, e])).values()];
  const fresh = await processed.claimEvents(
    tx,
    unique.map((e) => e.id),
  );
  if (fresh.size === 0) return [];
  // A contact a client shares in a chat adds their phone, and may join the chat to that phone's client.
  const shared = await joinSharedContacts(
    tx,
    unique.filter((e) => fresh.has(e.id)).map((e) => withSharedPhone(e, opts.defaultCountry)),
  );
  const events = shared.events;

  // --- look-ups -------------------------------------------------------------------------------------
  // The calls' keys are locked first: another router holding events of the same call commits before this one
  // looks anything up, so this batch sees that call's owner (and the lead it made) and never makes a second.
  const storedCalls = new Map(
    (
      await activities.lockByExternalKeys(tx, [
        ...new Set(events.map(callKey).filter((k): k is string => k != null)),
      ])
    ).map((r) => [r.external_key!, r]),
  );
  const callOwners = new Map<string, OwnerRef>();
  for (const [key, r] of storedCalls)
    if (r.owner_type !== 'queue' && r.owner_id != null)
      callOwners.set(key, { type: r.owner_type as OwnerRef['type'], id: r.owner_id });
  const idRows = await identities.findIdentities(
    tx,
    events.flatMap((e) => e.sender.identities),
  );
  const threadRows = await activities.ownersByMessageIds(tx, [...new Set(events.flatMap(threadParents))]);
  const storedOwnerOfMessage = (t: (typeof threadRows)[number]): OwnerRef | null =>
    t.owner_id != null && t.owner_type !== 'queue'
      ? { type: t.owner_type as OwnerRef['type'], id: t.owner_id }
      : null;
  const ownerRefs: OwnerRef[] = [
    ...idRows.map((r) => ({ type: r.owner_type, id: r.owner_id })),
    ...threadRows.map(storedOwnerOfMessage).filter((o): o is OwnerRef => o != null),
    ...callOwners.values(),
  ];
  // Holders, and where converted leads and merged entities lead now (the router and the lookup API share this).
  // Locked (KEY SHARE) until COMMIT: a merge or conversion of one of them either waits for this batch and then
  // moves what it wrote, or has committed and its pointers are read here (crm-core/services/entity-transfer.ts).
  // Call rows need no redirect: they are locked above and a merge moves them only under its own row locks.
  const owners = await loadOwners(tx, ownerRefs, { lock: true });
  const ownerOfMessage = (t: (typeof threadRows)[number]): OwnerRef | null => {
    const stored = storedOwnerOfMessage(t);
    return stored && currentOwner(stored, owners);
  };
  const junkReturn = await junkReturnFor(tx, owners);
  const regions = await opts.regions(tx);

  const { decisions, newLeads } = planBatch(
    events,
    {
      identityOwners: new Map(
        idRows.map((r) => [
          identityKey({ kind: r.kind as never, value: r.value }),
          { type: r.owner_type, id: r.owner_id },
        ]),
      ),
      owners,
      messages: new Map(
        threadRows.map((t) => {
          const owner = ownerOfMessage(t);
          const target: Target | null = owner ? { kind: 'existing', ref: owner } : null;
          return [t.message_id, { target, threadRef: t.thread_ref }];
        }),
      ),
      callOwners,
      regions,
      junkReturn,
    },
    {
      // Outbound calls to unknown numbers create a lead only when the line says so; blocked callers never do.
      mayCreateLead: (e) =>
        e.meta?.blocked !== true && (e.direction === 'inbound' || e.meta?.createLeadOnOutbound === true),
    },
  );

  // --- writes, before any operator is chosen ---------------------------------------------------------
  // The round-robin pointer of a region is a row lock held to COMMIT, so everything that does not need the
  // chosen operator is written first; the lock is taken last and held only for a few short statements.
  const leadIds = await leads.insertLeads(
    tx,
    newLeads.map((di) => {
      const e = decisions[di]!.event;
      return {
        title: leadTitle(e),
        name: e.sender.name ?? null,
        responsibleId: null,
        regionId: decisions[di]!.regionId,
        assignmentReason: 'pending',
        channel: e.channel,
        sourceType: e.source.type,
        sourceKey: e.source.key,
        sourceName:
          ((e.meta?.lineSource ?? e.meta?.accountSource) as string | undefined) ?? e.source.name ?? null,
        utm: e.utm,
        firstEventId: e.id,
      };
    }),
  );
  const resolve = (t: Decision['target']): OwnerRef | null =>
    t.kind === 'existing' ? t.ref : t.kind === 'new-lead' ? { type: 'lead', id: leadIds[t.index]! } : null;

  await writeIdentities(tx, decisions, resolve);
  if (junkReturn === 'reopen') await reopenJunkLeads(tx, decisions, owners);
  const needing = new Set(decisions.filter((d) => d.needsOperator));
  // Activities of contacts that still need an operator are written unassigned and filled in below.
  const responsibleOf = (d: Decision, owner: OwnerRef | null) =>
    needing.has(d) ? null : owner ? (owners.get(ownerKey(owner))?.responsible_id ?? null) : null;
  // Messenger messages go into conversations (one activity per conversation); everything else is one activity.
  const chat = decisions.map((d) => isMessengerMessage(d.event));
  const builtOthers = await buildActivities(
    tx,
    decisions.filter((_, i) => !chat[i]),
    storedCalls,
    resolve,
    responsibleOf,
    opts,
  );
  const builtChats = await routeMessages(
    tx,
    decisions.flatMap((d, i) => {
      if (!chat[i]) return [];
      const owner = resolve(d.target);
      return [{ event: d.event as MessageItem['event'], owner, responsibleId: responsibleOf(d, owner) }];
    }),
    { idleHours: opts.conversationIdleHours, replyDeadlineMin: opts.callbackDeadlineMin },
  );
  const built = decisions.map((_, i) => (chat[i] ? builtChats.shift() : builtOthers.shift()) ?? null);
  await duplicates.insertDuplicateCandidates(tx, [
    ...shared.duplicates,
    ...decisions.flatMap((d) =>
      d.duplicates.map((x) => ({
        eventId: d.event.id,
        chosenType: resolve(d.target)!.type,
        chosenId: resolve(d.target)!.id,
        otherType: x.other.type,
        otherId: x.other.id,
        identityKind: x.identity.kind,
        identityValue: x.identity.value,
      })),
    ),
  ]);
  // Bounces mark the failed addresses, so replies can warn and reports can count them, and the message they
  // report on failed (its outbox row and activity), so nobody takes it for delivered.
  const bounces = decisions.flatMap((d, i) => {
    const b = bounceOf(d.event);
    const recipients = (b?.recipients ?? []).map((r) => normaliseEmail(r).value);
    return b ? [{ ...b, recipients, at: d.event.occurredAt, bounceActivityId: built[i] ?? null }] : [];
  });
  await identities.markBouncing(tx, [...new Set(bounces.flatMap((b) => b.recipients))]);
  await outbound.markOutboundBounced(
    tx,
    bounces.flatMap((b) => (b.originalMessageId ? [{ ...b, messageId: b.originalMessageId }] : [])),
  );

  const outcomes = decisions.map((d, i) => {
    const owner = resolve(d.target);
    return {
      eventId: d.event.id,
      ownerType: owner?.type ?? 'queue',
      ownerId: owner?.id ?? null,
      activityId: built[i] ?? null,
      createdLead: d.target.kind === 'new-lead' && newLeads[d.target.index] === i,
    };
  });
  await processed.recordOutcomes(tx, outcomes);

  // --- assignment, last ------------------------------------------------------------------------------
  const index = new Map(decisions.map((d, i) => [d, i]));
  const activityOf = (d: Decision) => built[index.get(d)!] ?? null;
  await assignOperators(tx, [...needing], regions, { resolve, activityOf });
  // Store orders: the deal takes the buyer's operator, so it is written once the buyer has one.
  await writeOrderDeals(tx, decisions, resolve, activityOf);
  // Automation last: condition rules give their tasks to the client's operator, chosen just above.
  const fired = await automateRouted(
    tx,
    decisions.map((d, i) => ({ event: d.event, owner: resolve(d.target), activityId: built[i] ?? null })),
  );
  for (const o of outcomes) {
    const f = fired.get(o.eventId);
    if (f) (o as RouteOutcome).automation = f;
  }
  return outcomes;
}

/** New identities of new leads and known clients; losing one of a new lead to another router is a race. */
async function writeIdentities(
  tx: Queryable,
  decisions: Decision[],
  resolve: (t: Decision['target']) => OwnerRef | null,
) {
  const newLeadIdentities = decisions
    .filter((d) => d.target.kind === 'new-lead')
    .flatMap((d) => d.newIdentities.map((i) => ({ i, owner: resolve(d.target)! })));
  const knownIdentities = decisions
    .filter((d) => d.target.kind === 'existing')
    .flatMap((d) => d.newIdentities.map((i) => ({ i, owner: resolve(d.target)! })));
  const toInsert = [...newLeadIdentities, ...knownIdentities].map(({ i, owner }) => ({
    kind: i.kind,
    value: i.value,
    valid: i.valid,
    owner_type: owner.type,
    owner_id: owner.id,
  }));
  const inserted = new Set(
    (await identities.insertIdentities(tx, toInsert)).map((r) => identityKey(r as never)),
  );
  const lost = newLeadIdentities.filter(({ i }) => !inserted.has(identityKey(i)));
  if (lost.length > 0) {
    throw new AppError(
      'IDENTITY_RACE',
      `identity ${lost[0]!.i.kind} created concurrently by another router; retrying batch`,
    );
  }
  await identities.takeOverIdentities(
    tx,
    decisions.flatMap((d) =>
      d.takeOver.map((i) => ({
        kind: i.kind,
        value: i.value,
        owner_type: resolve(d.target)!.type,
        owner_id: resolve(d.target)!.id,
      })),
    ),
  );
}

/** JUNK_RETURN 'reopen': a junk lead a contact lands on is open again ('new'), and its timeline says why. */
async function reopenJunkLeads(tx: Queryable, decisions: Decision[], owners: Map<string, OwnerInfo>) {
  const reopened = new Map<number, Decision>();
  for (const d of decisions) {
    if (d.target.kind !== 'existing' || d.target.ref.type !== 'lead') continue;
    if (owners.get(ownerKey(d.target.ref))?.status === 'junk' && !reopened.has(d.target.ref.id))
      reopened.set(d.target.ref.id, d);
  }
  if (reopened.size === 0) return;
  const ids = await leads.reopenJunkLeads(tx, [...reopened.keys()]);
  for (const id of ids) {
    const e = reopened.get(id)!.event;
    await recordChange(tx, { type: 'lead', id }, `Lead reopened: the client came back (${e.channel})`, {
      change: 'status',
      from: 'junk',
      to: 'new',
      by: { kind: 'router', eventId: e.id },
    });
  }
}

import type { VkAccount } from '../../channels/messengers.js';
import { buildInboundContact } from '../../event/build.js';
import { buildDeliveryStatus, type DeliveryStatus } from '../../event/delivery-status.js';
import { EventValidationError, type InboundContact, type MessageInfo } from '../../event/inbound-contact.js';
import { AppError } from '../../lib/errors.js';
import { accountOrigin } from '../messenger-account.js';
import { vkAttachments } from './attachments.js';
import {
  type CallbackEnvelope,
  isUserPeer,
  type VkForeignMessage,
  type VkMessage,
  vkMessageId,
} from './callback.js';

export type VkMessageEvent = 'message_new' | 'message_edit' | 'message_reply';

interface Built {
  account: VkAccount;
  envelope: CallbackEnvelope;
  raw: { contentType: string; body: string };
  defaultCountry: string;
  now?: Date;
}

const unix = (s: number | undefined) => (s ? new Date(s * 1000) : undefined);

function quoted(reply: VkForeignMessage | undefined, peerId: number): string | undefined {
  if (!reply?.conversation_message_id) return undefined;
  return vkMessageId(reply.peer_id ?? peerId, reply.conversation_message_id);
}

/**
 * Who the message is about. The client is the author of an inbound message; for the community's own messages
 * (message_reply, or an edit of one) it is the person the dialogue is with, the peer. A community message in
 * a group chat has no single client: undefined, and the caller skips it.
 */
function client(m: VkMessage, groupId: number): { inbound: boolean; userId: number } | undefined {
  const ours = m.from_id === -groupId || m.out === 1;
  if (!ours) return { inbound: true, userId: m.from_id };
  return isUserPeer(m.peer_id) ? { inbound: false, userId: m.peer_id } : undefined;
}

/**
 * One VK message as an InboundContact. The event id comes from (account, message) for new messages and
 * replies, and from (account, message, update_time or event_id) for edits, so VK's retries and duplicates of
 * one delivery are one event while each edit is its own.
 */
export function vkMessageEvent(type: VkMessageEvent, m: VkMessage, b: Built): InboundContact | undefined {
  const who = client(m, b.account.groupId);
  if (!who) return undefined;
  const vendorMessageId = vkMessageId(m.peer_id, m.conversation_message_id);
  const edited = type === 'message_edit';
  const attachments = vkAttachments(m.attachments as (Record<string, unknown> & { type: string })[]);
  const coords = m.geo?.coordinates;
  const location =
    coords && Math.abs(coords.latitude) <= 90 && Math.abs(coords.longitude) <= 180
      ? {
          latitude: coords.latitude,
          longitude: coords.longitude,
          name: m.geo?.place?.title?.slice(0, 1_000),
          address: m.geo?.place?.address?.slice(0, 1_000),
        }
      : undefined;
  const message: MessageInfo = {
    vendorMessageId,
    chatId: String(m.peer_id),
    attachments: attachments.length ? attachments : undefined,
    edited: edited || undefined,
    replyToVendorMessageId: quoted(m.reply_message, m.peer_id),
    location,
  };
  const forwarded = (m.fwd_messages ?? []).slice(0, 20).map((f) => ({
    fromId: f.from_id,
    text: f.text?.slice(0, 4_096),
  }));
  const origin = accountOrigin(b.account);
  const externalId = edited
    ? `edit:${vendorMessageId}:${m.update_time ?? b.envelope.event_id ?? m.date ?? 0}`
    : vendorMessageId;
  try {
    return buildInboundContact(
      {
        channel: 'vk',
        kind: 'message',
        direction: who.inbound ? 'inbound' : 'outbound',
        source: origin.source,
        externalId,
        occurredAt: unix(edited ? (m.update_time ?? m.date) : m.date),
        sender: { messengerIds: [{ kind: 'vk', id: String(who.userId) }] },
        content: { text: m.text || undefined, message },
        raw: b.raw,
        meta: {
          ...origin.meta,
          vkEvent: type,
          vkEventId: b.envelope.event_id,
          // Where the client came from: the vk.me link's ref / ref_source (an ad campaign's link, say).
          vkRef: m.ref,
          vkRefSource: m.ref_source,
          // Our own messages.send sets random_id (vkRandomId of the outbox key): the router can match the echo.
          vkRandomId: who.inbound ? undefined : m.random_id,
          vkAdminAuthorId: m.admin_author_id,
          forwarded: forwarded.length ? forwarded : undefined,
        },
      },
      { defaultCountry: b.defaultCountry, now: b.now },
    );
  } catch (e) {
    if (e instanceof EventValidationError) {
      throw new AppError('UNPROCESSABLE', e.message, { fields: e.issues.map((i) => i.path), cause: e });
    }
    throw e;
  }
}

/**
 * message_read: the client read the dialogue up to conversation_message_id. Reported as `read` for that
 * message; earlier ones are implied by VK's semantics (the router never moves a status backwards).
 */
export function vkReadStatus(
  o: { from_id: number; peer_id: number; conversation_message_id: number },
  account: VkAccount,
  now?: Date,
): DeliveryStatus {
  return buildDeliveryStatus(
    {
      channel: 'vk',
      accountKey: account.key,
      vendorMessageId: vkMessageId(o.peer_id, o.conversation_message_id),
      status: 'read',
      recipient: { kind: 'vk', value: String(o.from_id), valid: true },
    },
    { now },
  );
}

import { createHash } from 'node:crypto';
import type { VkAccount } from '../../channels/messengers.js';
import {
  type MessengerSender,
  type OutgoingMessage,
  type SenderDeps,
  type SendFailureReason,
  VendorSendError,
} from './contract.js';
import { downloadFile, httpFailure, vendorFetch } from './vendor-fetch.js';

/**
 * VK community messages: messages.send (API 5.199) with the community token, posted as a form.
 *
 * - random_id is derived from the outbox key (vkRandomId): VK refuses to send a second message with a
 *   random_id it has seen from this sender and answers with the first one, so a retry after a lost answer
 *   sends nothing new.
 * - The peer goes in `peer_ids` (one id), not `peer_id`: only that form answers with conversation_message_id,
 *   which is how every VK event names a message (`<peer_id>_<conversation_message_id>`, connectors/vk).
 *   The message_reply VK then sends for our own message therefore carries the same vendor id.
 * - VK answers errors with HTTP 200 and {error:{error_code,error_msg}}; ERRORS maps the codes.
 * - Attachments: media VK already hosts (a client's photo, `photo<owner>_<id>[_<key>]`) go as `attachment`;
 *   anything else as its link in the text (uploading files to VK is not implemented).
 */
export const VK_API_VERSION = '5.199';

/** A positive 31-bit int from the idempotency key: the same key always gives the same random_id. */
export function vkRandomId(idempotencyKey: string): number {
  const n = createHash('sha256').update(idempotencyKey).digest().readUInt32BE(0) & 0x7fffffff;
  return n === 0 ? 1 : n;
}

/** VK error codes (VKCOM/vk-api-schema errors.json) → what the outbox does; other codes are `rejected`. */
const ERRORS: Record<number, { reason: SendFailureReason; retryAfterSec?: number }> = {
  1: { reason: 'unavailable' }, // unknown error occurred
  5: { reason: 'unauthorized' }, // user authorization failed: the token is invalid or revoked
  6: { reason: 'rate_limited', retryAfterSec: 1 }, // too many requests per second
  7: { reason: 'unauthorized' }, // permission denied: the token lacks `messages`
  9: { reason: 'rate_limited', retryAfterSec: 60 }, // flood control
  10: { reason: 'unavailable' }, // internal server error
  15: { reason: 'unauthorized' }, // access denied
  18: { reason: 'bad_recipient' }, // user was deleted or banned
  27: { reason: 'unauthorized' }, // group authorization failed
  29: { reason: 'rate_limited', retryAfterSec: 3600 }, // rate limit reached (daily quota)
  113: { reason: 'bad_recipient' }, // invalid user id
  900: { reason: 'blocked' }, // can't send to a user from the blacklist
  901: { reason: 'blocked' }, // the user has not allowed (or has denied) messages from the community
  902: { reason: 'blocked' }, // the user's privacy settings
  917: { reason: 'bad_recipient' }, // no access to this chat
  932: { reason: 'bad_recipient' }, // the community can't interact with this peer
  936: { reason: 'bad_recipient' }, // contact not found
  945: { reason: 'bad_recipient' }, // chat was disabled
  946: { reason: 'bad_recipient' }, // chat not supported
  950: { reason: 'window_closed' }, // can't send message, reply timed out
};

export function vkFailure(code: number, message: string): VendorSendError {
  const known = ERRORS[code] ?? { reason: 'rejected' as const };
  return new VendorSendError(known.reason, `VK error ${code}: ${message}`, {
    vendorCode: String(code),
    retryAfterSec: known.retryAfterSec,
  });
}

const VK_MEDIA = /^(photo|video|audio|doc|wall|market|poll|audio_message)-?\d+_\d+(_[0-9a-zA-Z]+)?$/;

interface VkSendItem {
  peer_id: number;
  message_id: number;
  conversation_message_id: number;
  error?: { code: number; description?: string };
}

export function createVkSender(deps: SenderDeps): MessengerSender<VkAccount> {
  const base = deps.urls.vk.replace(/\/+$/, '');

  async function send(account: VkAccount, m: OutgoingMessage) {
    const peer = Number(m.chatId);
    if (!Number.isSafeInteger(peer) || peer === 0) {
      throw new VendorSendError('bad_recipient', `VK peer_id must be an integer, got "${m.chatId}"`);
    }
    const hosted = (m.attachments ?? []).filter((a) => a.fileId && VK_MEDIA.test(a.fileId));
    const links = (m.attachments ?? []).filter((a) => !hosted.includes(a) && a.url).map((a) => a.url!);
    const text = [m.text?.trim(), ...links].filter(Boolean).join('\n');
    if (!text && !hosted.length)
      throw new VendorSendError('rejected', 'nothing to send: no text and no attachment');

    const form = new URLSearchParams({
      access_token: account.accessToken,
      v: VK_API_VERSION,
      peer_ids: String(peer),
      random_id: String(vkRandomId(m.idempotencyKey)),
    });
    if (text) form.set('message', text);
    if (hosted.length) form.set('attachment', hosted.map((a) => a.fileId).join(','));

    const res = await vendorFetch(`${base}/messages.send`, { method: 'POST', body: form }, deps.timeoutMs);
    const answer = (await res.json().catch(() => undefined)) as
      | { response?: VkSendItem[] | number; error?: { error_code?: number; error_msg?: string } }
      | undefined;
    if (answer?.error)
      throw vkFailure(answer.error.error_code ?? 0, answer.error.error_msg ?? 'unknown error');
    if (!res.ok) throw httpFailure(res, 'VK');
    const item = Array.isArray(answer?.response)
      ? answer.response.find((i) => i.peer_id === peer)
      : undefined;
    if (item?.error) throw vkFailure(item.error.code, item.error.description ?? 'not sent');
    if (!item?.conversation_message_id) {
      throw new VendorSendError('unavailable', 'VK answered without the sent message', { cause: answer });
    }
    return { vendorMessageId: `${item.peer_id}_${item.conversation_message_id}`, response: answer };
  }

  return {
    vendor: 'vk',
    // random_id: VK answers a repeated send with the first message, so an interrupted attempt may be repeated.
    idempotent: true,
    send,
    fetchFile: (_account, attachment) => downloadFile(attachment.url, attachment.name, 'VK', deps.timeoutMs),
  };
}

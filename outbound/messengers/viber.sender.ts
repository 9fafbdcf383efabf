import type { ViberAccount } from '../../channels/messengers.js';
import { parseJsonExact } from '../../lib/json.js';
import {
  type MessengerSender,
  type OutgoingMessage,
  type SenderDeps,
  type SendFailureReason,
  VendorSendError,
} from './contract.js';
import { downloadFile, httpFailure, vendorFetch } from './vendor-fetch.js';

/**
 * Viber bot messages: POST <VIBER_API_URL>/send_message with X-Viber-Auth-Token. Viber answers HTTP 200 with
 * {status, status_message, message_token}; status 0 is success, the others are mapped by STATUSES. The token is
 * a 64-bit integer, read exactly (lib/json) so delivered/seen/failed callbacks find the message.
 *
 * One outgoing message is one Viber message where it can be: text; a picture with the text as its caption
 * (Viber allows 768 characters there); a file or video (Viber requires its size: taken from a HEAD request,
 * and when the host does not say, the file goes as a `url` message). Text with a file or video is two Viber
 * messages, the text first: Viber has no idempotency key, so a retry after the first succeeded sends it again.
 * More than one attachment is refused.
 */
const STATUSES: Record<number, SendFailureReason> = {
  1: 'rejected', // invalidUrl
  2: 'unauthorized', // invalidAuthToken
  3: 'rejected', // badData
  4: 'rejected', // missingData
  5: 'bad_recipient', // receiverNotRegistered
  6: 'blocked', // receiverNotSubscribed: the client unsubscribed from the bot
  7: 'unauthorized', // publicAccountBlocked
  8: 'unauthorized', // publicAccountNotFound
  9: 'unauthorized', // publicAccountSuspended
  10: 'unauthorized', // webhookNotSet: Viber lets a bot send only once its webhook is set
  11: 'bad_recipient', // receiverNoSuitableDevice
  12: 'rate_limited', // tooManyRequests (at most 100 messages an hour to a client who does not answer)
  15: 'unauthorized', // publicAccountNotAuthorized
};

export function viberFailure(status: number, message: string | undefined): VendorSendError {
  return new VendorSendError(
    STATUSES[status] ?? 'rejected',
    `Viber status ${status}: ${message ?? 'failed'}`,
    {
      vendorCode: String(status),
    },
  );
}

/** Viber shows at most 28 characters of a sender name. */
const SENDER_NAME_MAX = 28;
const CAPTION_MAX = 768;

type Part = { type: 'text'; text: string } | { type: 'picture'; text: string; media: string } | FilePart;
type FilePart =
  | { type: 'file'; media: string; size: number; file_name: string }
  | { type: 'video'; media: string; size: number }
  | { type: 'url'; media: string };

export function createViberSender(deps: SenderDeps): MessengerSender<ViberAccount> {
  const base = deps.urls.viber.replace(/\/+$/, '');

  async function contentLength(url: string): Promise<number | undefined> {
    try {
      const res = await vendorFetch(url, { method: 'HEAD' }, deps.timeoutMs);
      const n = Number(res.headers.get('content-length'));
      return res.ok && Number.isSafeInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  }

  async function plan(m: OutgoingMessage): Promise<Part[]> {
    const text = m.text?.trim() ?? '';
    const attachments = m.attachments ?? [];
    if (attachments.length > 1)
      throw new VendorSendError('rejected', 'Viber sends one attachment per message');
    const a = attachments[0];
    if (!a) {
      if (!text) throw new VendorSendError('rejected', 'nothing to send: no text and no attachment');
      return [{ type: 'text', text }];
    }
    if (!a.url) throw new VendorSendError('rejected', 'Viber needs a URL for an attachment');
    if (a.kind === 'image' || a.kind === 'sticker') {
      const caption = text || a.caption?.trim() || '';
      return caption.length <= CAPTION_MAX
        ? [{ type: 'picture', text: caption, media: a.url }]
        : [
            { type: 'text', text: caption },
            { type: 'picture', text: '', media: a.url },
          ];
    }
    const size = await contentLength(a.url);
    const name = a.name?.trim() || new URL(a.url).pathname.split('/').pop() || 'file';
    const file: FilePart =
      size === undefined
        ? { type: 'url', media: a.url }
        : a.kind === 'video'
          ? { type: 'video', media: a.url, size }
          : { type: 'file', media: a.url, size, file_name: name };
    return text ? [{ type: 'text', text }, file] : [file];
  }

  async function post(account: ViberAccount, m: OutgoingMessage, part: Part) {
    const body = {
      receiver: m.chatId,
      min_api_version: 1,
      sender: { name: account.senderName.slice(0, SENDER_NAME_MAX).trim() },
      tracking_data: m.idempotencyKey,
      ...part,
    };
    const res = await vendorFetch(
      `${base}/send_message`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-viber-auth-token': account.authToken },
        body: JSON.stringify(body),
      },
      deps.timeoutMs,
    );
    const text = await res.text();
    let answer: { status?: unknown; status_message?: string; message_token?: unknown } | undefined;
    try {
      answer = parseJsonExact(text) as typeof answer;
    } catch {
      answer = undefined;
    }
    if (!res.ok || !answer || typeof answer !== 'object') throw httpFailure(res, 'Viber');
    if (answer.status !== 0) throw viberFailure(Number(answer.status), answer.status_message);
    if (answer.message_token === undefined) {
      throw new VendorSendError('unavailable', 'Viber answered without a message_token', { cause: answer });
    }
    return { token: String(answer.message_token), answer };
  }

  async function send(account: ViberAccount, m: OutgoingMessage) {
    const parts = await plan(m);
    const sent: { token: string; answer: unknown }[] = [];
    for (const part of parts) sent.push(await post(account, m, part));
    const last = sent.at(-1)!;
    return {
      vendorMessageId: last.token,
      response: sent.length === 1 ? last.answer : { parts: sent.map((s) => s.answer) },
    };
  }

  return {
    vendor: 'viber',
    send,
    fetchFile: (_account, attachment) =>
      downloadFile(attachment.url, attachment.name, 'Viber', deps.timeoutMs),
  };
}

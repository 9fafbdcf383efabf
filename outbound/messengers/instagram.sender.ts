import type { InstagramAccount } from '../../channels/messengers.js';
import type { Attachment } from '../../event/inbound-contact.js';
import {
  type FetchedFile,
  type MessengerSender,
  type OutgoingMessage,
  type SenderDeps,
  type SendResult,
  VendorSendError,
} from './contract.js';
import { download, graphJson } from './graph-api.js';

/**
 * Instagram Send API: POST /{ig-user-id}/messages with {recipient: {id: IGSID}, message: {text} | {attachment:
 * {type, payload: {url}}}}. A message is either text or one attachment (Instagram has no captions); anything
 * else is refused as `rejected`, as are templates (a WhatsApp notion). Clients' files are signed CDN URLs,
 * downloaded without the token.
 */
const TYPES: Partial<Record<Attachment['kind'], string>> = {
  image: 'image',
  video: 'video',
  audio: 'audio',
  voice: 'audio',
  document: 'file',
};

interface SendAnswer {
  recipient_id?: string;
  message_id?: string;
}

export function instagramBody(message: OutgoingMessage): Record<string, unknown> {
  if (message.template) throw new VendorSendError('rejected', 'Instagram has no message templates');
  const attachments = message.attachments ?? [];
  if (attachments.length > 1 || (attachments.length === 1 && message.text)) {
    throw new VendorSendError('rejected', 'Instagram sends text and each attachment as separate messages');
  }
  const recipient = { id: message.chatId };
  const a = attachments[0];
  if (a) {
    const type = TYPES[a.kind];
    if (!type || !a.url)
      throw new VendorSendError(
        'rejected',
        `Instagram cannot send this ${a.kind} attachment (a URL is needed)`,
      );
    return { recipient, message: { attachment: { type, payload: { url: a.url } } } };
  }
  if (!message.text) throw new VendorSendError('rejected', 'nothing to send: no text or attachment');
  return { recipient, message: { text: message.text } };
}

export function createInstagramSender(deps: SenderDeps): MessengerSender<InstagramAccount> {
  return {
    vendor: 'instagram',
    async send(account: InstagramAccount, message: OutgoingMessage): Promise<SendResult> {
      const answer = await graphJson<SendAnswer>(deps, {
        method: 'POST',
        path: `/${encodeURIComponent(account.igUserId)}/messages`,
        token: account.accessToken,
        body: instagramBody(message),
      });
      if (!answer.message_id)
        throw new VendorSendError('unavailable', 'Instagram answered without message_id');
      return { vendorMessageId: answer.message_id, response: answer };
    },

    async fetchFile(_account: InstagramAccount, attachment: Attachment): Promise<FetchedFile> {
      if (!attachment.url) throw new VendorSendError('rejected', 'Instagram attachments are fetched by URL');
      const file = await download(deps, attachment.url, undefined);
      return { body: file.body, mimeType: file.mimeType ?? attachment.mimeType, name: attachment.name };
    },
  };
}

import type { WhatsAppAccount } from '../../channels/messengers.js';
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
 * WhatsApp Cloud API sends: POST /{phone-number-id}/messages. One outgoing message is one WhatsApp message:
 * a template (outside the 24-hour window: {name, language: {code}, components: body parameters}), or one media
 * item (image, document, audio, video, sticker; by uploaded media id or by link) with the text as its caption,
 * or text. More than one attachment is refused as `rejected` (the outbox would otherwise send part of it twice
 * on a retry); the conversation layer splits them.
 */
const MEDIA = new Set(['image', 'document', 'audio', 'video', 'sticker']);
/** Media types WhatsApp shows a caption on. */
const CAPTIONED = new Set(['image', 'document', 'video']);

interface SendAnswer {
  messages?: { id?: string; message_status?: string }[];
}

interface MediaInfo {
  url?: string;
  mime_type?: string;
}

export function whatsappBody(message: OutgoingMessage): Record<string, unknown> {
  const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: message.chatId };
  if (message.template) {
    const t = message.template;
    const components = t.parameters?.length
      ? [{ type: 'body', parameters: t.parameters.map((text) => ({ type: 'text', text })) }]
      : undefined;
    return {
      ...base,
      type: 'template',
      template: { name: t.name, language: { code: t.language }, components },
    };
  }
  const attachments = message.attachments ?? [];
  if (attachments.length > 1) {
    throw new VendorSendError('rejected', 'WhatsApp sends one attachment per message');
  }
  const a = attachments[0];
  if (a) {
    const type = a.kind === 'voice' ? 'audio' : a.kind;
    if (!MEDIA.has(type))
      throw new VendorSendError('rejected', `WhatsApp cannot send a ${a.kind} attachment`);
    if (!a.fileId && !a.url) throw new VendorSendError('rejected', 'attachment needs a media id or a URL');
    const caption = a.caption ?? message.text;
    if (caption && !CAPTIONED.has(type)) {
      throw new VendorSendError('rejected', `WhatsApp shows no caption on ${type}: send the text separately`);
    }
    const media = {
      ...(a.fileId ? { id: a.fileId } : { link: a.url }),
      ...(caption && { caption }),
      ...(type === 'document' && a.name && { filename: a.name }),
    };
    return { ...base, type, [type]: media };
  }
  if (!message.text)
    throw new VendorSendError('rejected', 'nothing to send: no text, attachment or template');
  return { ...base, type: 'text', text: { preview_url: false, body: message.text } };
}

export function createWhatsAppSender(deps: SenderDeps): MessengerSender<WhatsAppAccount> {
  return {
    vendor: 'whatsapp',
    async send(account: WhatsAppAccount, message: OutgoingMessage): Promise<SendResult> {
      const answer = await graphJson<SendAnswer>(deps, {
        method: 'POST',
        path: `/${encodeURIComponent(account.phoneNumberId)}/messages`,
        token: account.accessToken,
        body: whatsappBody(message),
      });
      const id = answer.messages?.[0]?.id;
      if (!id) throw new VendorSendError('unavailable', 'WhatsApp answered without messages[0].id');
      return { vendorMessageId: id, response: answer };
    },

    /** GET /{media-id} gives a short-lived URL; the file is fetched from it with the same bearer token. */
    async fetchFile(account: WhatsAppAccount, attachment: Attachment): Promise<FetchedFile> {
      let url = attachment.url;
      let mimeType = attachment.mimeType;
      if (attachment.fileId) {
        const info = await graphJson<MediaInfo>(deps, {
          method: 'GET',
          path: `/${encodeURIComponent(attachment.fileId)}`,
          token: account.accessToken,
        });
        if (!info.url) throw new VendorSendError('unavailable', 'media answer without a url');
        url = info.url;
        mimeType = info.mime_type ?? mimeType;
      }
      if (!url) throw new VendorSendError('rejected', 'attachment has neither a media id nor a URL');
      const file = await download(deps, url, account.accessToken);
      return { body: file.body, mimeType: mimeType ?? file.mimeType, name: attachment.name };
    },
  };
}

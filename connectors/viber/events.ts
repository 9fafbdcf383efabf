import type { ViberAccount } from '../../channels/messengers.js';
import { buildInboundContact } from '../../event/build.js';
import { buildDeliveryStatus, type DeliveryState, type DeliveryStatus } from '../../event/delivery-status.js';
import {
  type Attachment,
  EventValidationError,
  type InboundContact,
  type MessageInfo,
} from '../../event/inbound-contact.js';
import { AppError } from '../../lib/errors.js';
import { accountOrigin } from '../messenger-account.js';
import { httpUrl } from '../webhook-http.js';
import type { ViberMessageCallback, ViberReceipt } from './callback.js';

type ViberMessage = ViberMessageCallback['message'];

const cut = (s: string | undefined, n: number) => (s && s.length > n ? s.slice(0, n) : s || undefined);
const media = (m: ViberMessage) => {
  const url = httpUrl(m.media);
  return url && url.length <= 2_000 ? url : undefined;
};

/** What a Viber message carries besides text: one attachment, a place or a contact card. */
function parts(m: ViberMessage): Pick<MessageInfo, 'attachments' | 'location' | 'sharedContact'> {
  const file = (kind: Attachment['kind']): Attachment => ({
    kind,
    url: media(m),
    name: cut(m.file_name, 1_000),
    size: m.size,
  });
  switch (m.type) {
    case 'text':
      return {};
    case 'picture':
      return { attachments: [file('image')] };
    case 'video':
      return { attachments: [file('video')] };
    case 'file':
      return { attachments: [file('document')] };
    case 'sticker':
      return {
        attachments: [
          {
            kind: 'sticker',
            fileId: m.sticker_id === undefined ? undefined : String(m.sticker_id),
            url: media(m),
          },
        ],
      };
    case 'url':
      return { attachments: [{ kind: 'other', name: 'url', url: media(m) }] };
    case 'location': {
      const l = m.location;
      if (!l || Math.abs(l.lat) > 90 || Math.abs(l.lon) > 180) return {};
      return { location: { latitude: l.lat, longitude: l.lon, address: cut(l.address, 1_000) } };
    }
    case 'contact':
      // A contact card the client shared: Viber never says it is the sender's own, so its phone is not
      // taken as one of the sender's identities (ownPhone false); the operator sees it in the message.
      return {
        sharedContact: {
          phone: cut(m.contact?.phone_number, 1_000),
          name: cut(m.contact?.name, 1_000),
          ownPhone: false,
        },
      };
    default:
      return { attachments: [{ kind: 'other', name: cut(m.type, 1_000), url: media(m) }] };
  }
}

/** A client's message as an InboundContact; its id comes from (account, message_token): a redelivery is a no-op. */
export function viberMessageEvent(
  cb: ViberMessageCallback,
  account: ViberAccount,
  raw: { contentType: string; body: string },
  opts: { defaultCountry: string; now?: Date },
): InboundContact {
  const m = cb.message;
  const country = cb.sender.country?.toUpperCase();
  // A url message's text is the link itself.
  const text = m.text || (m.type === 'url' ? m.media : undefined);
  const origin = accountOrigin(account);
  try {
    return buildInboundContact(
      {
        channel: 'viber',
        kind: 'message',
        direction: 'inbound',
        source: origin.source,
        externalId: cb.message_token,
        occurredAt: cb.timestamp ? new Date(cb.timestamp) : undefined,
        sender: { name: cut(cb.sender.name, 1_000), messengerIds: [{ kind: 'viber', id: cb.sender.id }] },
        content: {
          text: text || undefined,
          message: { vendorMessageId: cb.message_token, chatId: cb.sender.id, ...parts(m) },
        },
        regionHints: { country: country && /^[A-Z]{2}$/.test(country) ? country : undefined },
        raw,
        meta: {
          ...origin.meta,
          viberMessageType: m.type,
          viberTrackingData: m.tracking_data,
        },
      },
      opts,
    );
  } catch (e) {
    if (e instanceof EventValidationError) {
      throw new AppError('UNPROCESSABLE', e.message, { fields: e.issues.map((i) => i.path), cause: e });
    }
    throw e;
  }
}

export const VIBER_RECEIPTS: Record<string, DeliveryState> = {
  delivered: 'delivered',
  seen: 'read',
  failed: 'failed',
};

/** delivered / seen / failed about one of our messages; ids from (account, token, status). */
export function viberReceiptStatus(
  status: DeliveryState,
  r: ViberReceipt,
  account: ViberAccount,
  now?: Date,
): DeliveryStatus {
  return buildDeliveryStatus(
    {
      channel: 'viber',
      accountKey: account.key,
      vendorMessageId: r.message_token,
      status,
      error: status === 'failed' ? { message: r.desc?.trim() || 'failed' } : undefined,
      recipient: { kind: 'viber', value: r.user_id, valid: true },
      occurredAt: r.timestamp ? new Date(r.timestamp) : undefined,
    },
    { now },
  );
}

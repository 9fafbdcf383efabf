import type { WhatsAppAccount } from '../../channels/messengers.js';
import { buildInboundContact } from '../../event/build.js';
import type { BusEvent } from '../../event/bus-event.js';
import { buildDeliveryStatus, type DeliveryState } from '../../event/delivery-status.js';
import { normalisePhone } from '../../event/identity.js';
import type { Attachment, InboundContact, MessageInfo } from '../../event/inbound-contact.js';
import { accountOrigin } from '../messenger-account.js';
import { kindLabel, type Update } from '../meta/parse.js';
import { vendorTime } from '../meta/webhook.js';
import { lookup } from '../webhook-http.js';
import type { WaMedia, WaMessage, WaStatus, WaValue } from './payload.js';

/**
 * One WhatsApp `messages` change → bus events. What each message type becomes:
 * text → text; image, document, audio (voice notes: `audio.voice`), video, sticker → attachment metadata with
 * the media id (fetched on demand through GET /{media-id}), caption as text; location → message.location;
 * interactive button_reply / list_reply and template quick-reply `button` → message.interactive {id, title};
 * contacts → the first card as sharedContact (never the sender's own phone) and every card as a `contact`
 * attachment. Reactions are acknowledged and ignored (a conversation stores messages, not reactions); `unknown`,
 * `unsupported`, `system`, `order` and other types are acknowledged and counted as unhandled.
 * Statuses sent / delivered / read (and `played`, a voice note listened to, as read) / failed → DeliveryStatus.
 */
const MEDIA_KINDS = {
  image: 'image',
  document: 'document',
  audio: 'audio',
  video: 'video',
  sticker: 'sticker',
} as const satisfies Record<string, Attachment['kind']>;

const STATUSES: Record<string, DeliveryState> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  played: 'read',
  failed: 'failed',
};

export interface MappedChange {
  events: BusEvent[];
  updates: Update[];
}

interface Ctx {
  account: WhatsAppAccount;
  defaultCountry: string;
  now: Date;
}

export function mapMessagesChange(value: WaValue, c: Ctx, out: MappedChange): void {
  for (const m of value.messages ?? []) {
    const kind = kindLabel('message', m.type);
    const content = messageContent(m);
    if (content === 'ignored' || content === 'unhandled' || !m.from) {
      out.updates.push({ kind, outcome: content === 'ignored' ? 'ignored' : 'unhandled' });
      continue;
    }
    out.events.push(messageEvent(value, m, content, c));
    out.updates.push({ kind, outcome: 'published' });
  }
  for (const s of value.statuses ?? []) {
    const state = lookup(STATUSES, s.status);
    const kind = kindLabel('status', s.status);
    if (!state) {
      out.updates.push({ kind, outcome: 'unhandled' });
      continue;
    }
    out.events.push(statusEvent(s, state, c));
    out.updates.push({ kind, outcome: 'published' });
  }
  if (value.errors?.length) out.updates.push({ kind: 'errors', outcome: 'unhandled' });
}

type Content = { text?: string; message: Omit<MessageInfo, 'vendorMessageId' | 'chatId'> };

function messageContent(m: WaMessage): Content | 'ignored' | 'unhandled' {
  const mediaKind = lookup(MEDIA_KINDS, m.type);
  if (mediaKind) {
    const media = m[m.type as keyof typeof MEDIA_KINDS] as WaMedia;
    return { text: media.caption, message: { attachments: [attachment(mediaKind, media)] } };
  }
  switch (m.type) {
    case 'text':
      return { text: m.text!.body, message: {} };
    case 'location': {
      const l = m.location!;
      const label = [l.name, l.address].filter(Boolean).join(', ');
      return { text: label || undefined, message: { location: l } };
    }
    case 'interactive': {
      const reply = m.interactive!.button_reply ?? m.interactive!.list_reply;
      if (!reply) return 'unhandled'; // Flows (nfm_reply) and other interactive answers
      return { text: reply.title, message: { interactive: { id: reply.id, title: reply.title } } };
    }
    case 'button': {
      const b = m.button!;
      const id = b.payload ?? b.text;
      if (!id) return 'unhandled';
      return { text: b.text, message: { interactive: { id, title: b.text } } };
    }
    case 'contacts': {
      const cards = (m.contacts ?? []).map((card) => ({
        name: card.name?.formatted_name,
        phone: card.phones?.map((p) => p.phone ?? (p.wa_id ? `+${p.wa_id}` : undefined)).find(Boolean),
      }));
      if (cards.length === 0) return 'unhandled';
      return {
        text: cards.map((x) => [x.name, x.phone].filter(Boolean).join(': ')).join('\n') || undefined,
        message: {
          // The card is someone the client shares, not the client: WhatsApp already knows the sender's number.
          sharedContact: { name: cards[0]!.name, phone: cards[0]!.phone, ownPhone: false },
          attachments: cards
            .slice(0, 20)
            .map((x) => ({ kind: 'contact' as const, name: x.name, caption: x.phone })),
        },
      };
    }
    case 'reaction':
      return 'ignored';
    default:
      return 'unhandled';
  }
}

function attachment(kind: Attachment['kind'], media: WaMedia): Attachment {
  return {
    kind: kind === 'audio' && media.voice ? 'voice' : kind,
    fileId: media.id,
    mimeType: media.mime_type,
    name: media.filename,
    caption: media.caption,
  };
}

function messageEvent(value: WaValue, m: WaMessage, content: Content, c: Ctx): InboundContact {
  const from = m.from!;
  const contacts = value.contacts ?? [];
  const contact = contacts.find((x) => x.wa_id === from) ?? (contacts.length === 1 ? contacts[0] : undefined);
  const phone = `+${from.replace(/^\+/, '')}`;
  const origin = accountOrigin(c.account);
  return buildInboundContact(
    {
      channel: 'whatsapp',
      kind: 'message',
      direction: 'inbound',
      source: origin.source,
      externalId: m.id,
      occurredAt: vendorTime(m.timestamp, 's'),
      // wa_id is the client's phone number: a phone identity in E.164, so it meets their calls and forms.
      sender: { name: contact?.profile?.name, phones: [phone] },
      content: {
        text: content.text,
        message: {
          ...content.message,
          vendorMessageId: m.id,
          chatId: from,
          replyToVendorMessageId: m.context?.id,
        },
      },
      regionHints: { callerNumber: phone },
      // The documented envelope reduced to this one message: each event's audit copy is its own.
      raw: {
        contentType: 'application/json',
        body: JSON.stringify({ metadata: value.metadata, contacts: contact ? [contact] : [], messages: [m] }),
      },
      meta: {
        ...origin.meta,
        ...(m.context?.forwarded && { forwarded: true }),
        ...(m.referral && { referral: m.referral }),
      },
    },
    { defaultCountry: c.defaultCountry, now: c.now },
  );
}

function statusEvent(s: WaStatus, status: DeliveryState, c: Ctx): BusEvent {
  const e = status === 'failed' ? s.errors?.[0] : undefined;
  const recipient =
    s.recipient_id && s.recipient_type !== 'group'
      ? normalisePhone(`+${s.recipient_id.replace(/^\+/, '')}`, c.defaultCountry)
      : undefined;
  return buildDeliveryStatus(
    {
      channel: 'whatsapp',
      accountKey: c.account.key,
      vendorMessageId: s.id,
      status,
      error:
        status === 'failed'
          ? {
              code: e?.code !== undefined ? String(e.code).slice(0, 200) : undefined,
              message: (e?.error_data?.details ?? e?.message ?? e?.title ?? 'failed').slice(0, 2_000),
            }
          : undefined,
      recipient,
      occurredAt: vendorTime(s.timestamp, 's'),
    },
    { now: c.now },
  );
}

import { buildInboundContact } from '../../event/build.js';
import { buildDeliveryStatus } from '../../event/delivery-status.js';
import type { Attachment, InboundContact, MessageInfo } from '../../event/inbound-contact.js';

/**
 * Messenger message events as the connectors make them (content.message, source type bot keyed by the account),
 * for router and API tests that need no vendor. Telegram: the user id is the chat id; WhatsApp: the wa_id is
 * the chat id and a phone identity.
 */
export function messageEvent(p: {
  channel?: 'telegram' | 'whatsapp' | 'vk' | 'viber' | 'instagram';
  account?: string;
  /** The chat (and, except WhatsApp, the client's messenger id). WhatsApp: digits of the phone. */
  chat: string;
  id: string;
  text?: string;
  at?: string | Date;
  direction?: 'inbound' | 'outbound';
  name?: string;
  edited?: boolean;
  attachments?: Attachment[];
  sharedContact?: MessageInfo['sharedContact'];
  meta?: Record<string, unknown>;
}): InboundContact {
  const channel = p.channel ?? 'telegram';
  const account = p.account ?? `${channel}-bot`;
  const at = p.at ? new Date(p.at).toISOString() : new Date().toISOString();
  return buildInboundContact(
    {
      channel,
      source: { type: 'bot', key: account, name: `${channel} account` },
      // An edit is an update of its own (its own event id) about the same vendor message.
      externalId: p.edited ? `${p.id}:edit:${at}` : p.id,
      kind: 'message',
      direction: p.direction ?? 'inbound',
      occurredAt: at,
      sender: {
        name: p.name,
        ...(channel === 'whatsapp'
          ? { phones: [`+${p.chat}`] }
          : { messengerIds: [{ kind: channel, id: p.chat }] }),
      },
      content: {
        text: p.text,
        message: {
          vendorMessageId: p.id,
          chatId: p.chat,
          ...(p.edited ? { edited: true } : {}),
          ...(p.attachments ? { attachments: p.attachments } : {}),
          ...(p.sharedContact ? { sharedContact: p.sharedContact } : {}),
        },
      },
      raw: { contentType: 'application/json', body: JSON.stringify(p) },
      meta: p.meta,
    },
    { defaultCountry: 'RU' },
  );
}

export function statusEvent(p: {
  channel?: 'telegram' | 'whatsapp' | 'vk' | 'viber' | 'instagram';
  account?: string;
  id: string;
  status: 'sent' | 'delivered' | 'read' | 'failed';
  error?: { code?: string; message: string };
  at?: string | Date;
}) {
  const channel = p.channel ?? 'telegram';
  return buildDeliveryStatus({
    channel,
    accountKey: p.account ?? `${channel}-bot`,
    vendorMessageId: p.id,
    status: p.status,
    ...(p.error ? { error: p.error } : {}),
    occurredAt: p.at ?? new Date(),
  });
}

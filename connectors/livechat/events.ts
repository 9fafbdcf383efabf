import { createHash } from 'node:crypto';
import { LIVECHAT_CHANNEL, livechatOutboundId, type WidgetSettings } from '../../channels/widgets.js';
import { buildInboundContact } from '../../event/build.js';
import { buildDeliveryStatus, type DeliveryStatus } from '../../event/delivery-status.js';
import type { InboundContact } from '../../event/inbound-contact.js';

/**
 * Visitor frames -> bus events. A message and a contact are InboundContact messages of channel `webchat` (the
 * router files them into the visitor's conversation like any messenger's); the visitor's identity is
 * `webchat:<visitorId>`, always the first one (the bus key: one visitor's messages stay in order). The widget is
 * the source (its lead-source label, its region); the page's UTM tags (or, without them, the referring site)
 * are the lead's UTM, and the page and referrer travel in meta, shown on the conversation's activity.
 */
export interface PageContext {
  url?: string;
  referrer?: string;
}

export interface VisitorContact {
  name?: string;
  phone?: string;
  email?: string;
}

interface Origin {
  widget: WidgetSettings;
  visitorId: string;
  page: PageContext;
  ip?: string;
  defaultCountry: string;
  now?: Date;
}

const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'] as const;

/** An http(s) URL of reasonable length, else nothing (the page and referrer come from the visitor's browser). */
export function pageUrl(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length > 2_000) return undefined;
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** UTM tags of the page; without any, a referring site other than the page's own is the source (a referral). */
export function pageUtm(page: PageContext): InboundContact['utm'] {
  const utm: InboundContact['utm'] = {};
  if (page.url) {
    const q = new URL(page.url).searchParams;
    for (const k of UTM_KEYS) {
      const v = q.get(`utm_${k}`)?.trim();
      if (v) utm[k] = v.slice(0, 1_000);
    }
  }
  if (Object.keys(utm).length || !page.referrer) return utm;
  const from = new URL(page.referrer).hostname;
  const self = page.url ? new URL(page.url).hostname : undefined;
  return from && from !== self ? { source: from, medium: 'referral' } : utm;
}

/** The message's id at the vendor (our widget): scoped by the visitor, so one visitor cannot touch another's. */
export const visitorMessageId = (visitorId: string, clientId: string) => `${visitorId}:${clientId}`;

export function messageEvent(o: Origin, clientId: string, text: string, name?: string): InboundContact {
  return build(o, visitorMessageId(o.visitorId, clientId), { text, name }, { clientId, text });
}

/**
 * The pre-chat or offline form: a message without text carrying the contact. Its phone is the visitor's own
 * (`sharedContact.ownPhone`), so the router joins the chat onto the client who has that phone, as it does for a
 * Telegram contact share; the email is one more identity. The same contact sent again is the same message.
 */
export function contactEvent(o: Origin, c: VisitorContact): InboundContact {
  const digest = createHash('sha256')
    .update(JSON.stringify([c.name ?? '', c.phone ?? '', c.email ?? '']))
    .digest('base64url')
    .slice(0, 16);
  return build(o, visitorMessageId(o.visitorId, `contact:${digest}`), { contact: c, name: c.name }, c);
}

function build(
  o: Origin,
  vendorMessageId: string,
  x: { text?: string; name?: string; contact?: VisitorContact },
  frame: object,
): InboundContact {
  const w = o.widget;
  const c = x.contact;
  const event = buildInboundContact(
    {
      channel: LIVECHAT_CHANNEL,
      kind: 'message',
      direction: 'inbound',
      source: { type: 'chat', key: w.key, name: w.source ?? w.name },
      externalId: vendorMessageId,
      occurredAt: o.now,
      sender: {
        name: x.name,
        messengerIds: [{ kind: 'webchat', id: o.visitorId }],
        phones: c?.phone ? [c.phone] : [],
        emails: c?.email ? [c.email] : [],
      },
      content: {
        text: x.text,
        message: {
          vendorMessageId,
          chatId: o.visitorId,
          ...(c?.phone ? { sharedContact: { phone: c.phone, name: c.name, ownPhone: true } } : {}),
        },
      },
      regionHints: o.ip ? { clientIp: o.ip } : {},
      utm: pageUtm(o.page),
      raw: { contentType: 'application/json', body: JSON.stringify(frame) },
      meta: {
        widget: w.key,
        ...(w.source !== undefined && { accountSource: w.source }),
        ...(w.regionId !== undefined && { accountRegionId: w.regionId }),
        ...(o.page.url && { pageUrl: o.page.url }),
        ...(o.page.referrer && { referrer: o.page.referrer }),
      },
    },
    { defaultCountry: o.defaultCountry, now: o.now },
  );
  // Phones come first from normaliseSender; the visitor's own identity must lead (the bus key, the chat).
  const ids = event.sender.identities;
  const own = ids.findIndex((i) => i.kind === 'webchat');
  if (own > 0) ids.unshift(...ids.splice(own, 1));
  return event;
}

/**
 * An operator's reply reached a visitor's socket (delivered) or was shown to them in an open chat (read): its
 * status changes through the router, which never moves it backwards.
 */
export function deliveredStatus(
  widgetKey: string,
  visitorId: string,
  messageId: number,
  status: 'delivered' | 'read' = 'delivered',
): DeliveryStatus {
  return buildDeliveryStatus({
    channel: LIVECHAT_CHANNEL,
    accountKey: widgetKey,
    vendorMessageId: livechatOutboundId(messageId),
    status,
    recipient: { kind: 'webchat', value: visitorId, valid: true },
  });
}

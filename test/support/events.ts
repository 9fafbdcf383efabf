import { randomUUID } from 'node:crypto';
import { buildInboundContact, type ContactDraft } from '../../event/build.js';
import type { CallInfo } from '../../event/inbound-contact.js';

/** Builders for valid InboundContact events, as connectors make them. */
export function formEvent(p: {
  phone?: string;
  email?: string;
  name?: string;
  region?: string;
  city?: string;
  externalId?: string;
  form?: string;
}) {
  return buildInboundContact(
    {
      channel: 'webform',
      source: { type: 'form', key: p.form ?? 'demo', name: 'Demo form' },
      externalId: p.externalId ?? randomUUID(),
      kind: 'form',
      sender: { name: p.name, phones: p.phone ? [p.phone] : [], emails: p.email ? [p.email] : [] },
      content: { text: 'Please call me' },
      regionHints: { formRegion: p.region, formCity: p.city },
      utm: { source: 'google', campaign: 'spring' },
      raw: { contentType: 'application/json', body: JSON.stringify(p) },
    },
    { defaultCountry: 'RU' },
  );
}

export function callEvent(p: {
  from: string;
  line?: string;
  callId?: string;
  status: CallInfo['status'];
  direction?: 'inbound' | 'outbound';
  at?: string;
  stage?: string;
  talkSec?: number;
  recordingUrl?: string;
  meta?: ContactDraft['meta'];
}) {
  const callId = p.callId ?? randomUUID();
  const line = p.line ?? 'demo';
  const direction = p.direction ?? 'inbound';
  return buildInboundContact(
    {
      channel: 'phone',
      source: { type: 'line', key: line, name: 'Demo line' },
      externalId: `test:${callId}:${p.stage ?? p.status}:${p.recordingUrl ?? ''}`,
      kind: 'call',
      direction,
      occurredAt: p.at,
      sender: { phones: p.from ? [p.from] : [] },
      content: {
        call: {
          status: p.status,
          externalCallId: callId,
          talkSec: p.talkSec,
          recordingUrl: p.recordingUrl,
          from: direction === 'inbound' ? p.from : '+74950000000',
          to: direction === 'inbound' ? '+74950000000' : p.from,
          anonymous: p.from ? undefined : true,
        },
      },
      regionHints: { callerNumber: p.from, calledLine: line },
      raw: { contentType: 'application/json', body: '{}' },
      meta: p.meta,
    },
    { defaultCountry: 'RU', now: p.at ? new Date(p.at) : undefined },
  );
}

export function emailEvent(p: {
  from?: string;
  name?: string;
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  subject?: string;
  robot?: 'auto-reply' | 'bounce' | 'list' | 'bulk';
  bounce?: { recipients: string[]; originalMessageId?: string };
}) {
  return buildInboundContact(
    {
      channel: 'email',
      source: { type: 'mailbox', key: 'sales@example.test', name: 'Sales' },
      externalId: p.messageId,
      kind: 'message',
      // Robots carry no identity: the connector keeps their address in meta.from only.
      sender: { name: p.name, emails: p.robot || !p.from ? [] : [p.from] },
      content: { subject: p.subject ?? 'Question', text: 'Hello' },
      thread: {
        messageId: p.messageId,
        inReplyTo: p.inReplyTo,
        references: p.references,
        ref: p.references?.[0] ?? p.inReplyTo ?? p.messageId,
      },
      raw: { contentType: 'message/rfc822', body: 'raw' },
      meta: {
        from: { address: p.from },
        ...(p.robot ? { robot: p.robot } : {}),
        ...(p.bounce ? { bounce: p.bounce } : {}),
      },
    },
    { defaultCountry: 'RU' },
  );
}

import { randomUUID } from 'node:crypto';
import { DEMO_LINE } from '../app/demo-seed.js';
import { buildCallEvent } from '../connectors/telephony/call-event.js';
import { type GenericCall, genericCallRecord } from '../connectors/telephony/generic.adapter.js';
import { buildInboundContact } from '../event/build.js';
import type { InboundContact } from '../event/inbound-contact.js';
import type { BenchRequest } from './mix.js';

/**
 * The event a connector would publish for one bench request, built with the connectors' own builders (no HTTP):
 * used by the ceilings that skip HTTP (Kafka produce, router alone) so they carry the same events.
 */
export function eventFor(r: BenchRequest): InboundContact {
  const body = JSON.parse(r.body) as Record<string, string>;
  if (r.path.startsWith('/v1/telephony/')) {
    const record = genericCallRecord(body as unknown as GenericCall, {
      line: DEMO_LINE,
      raw: { contentType: 'application/json', body: r.body },
    });
    return buildCallEvent(record, { defaultCountry: 'RU' });
  }
  return buildInboundContact(
    {
      channel: 'webform',
      kind: 'form',
      source: { type: 'form', key: 'demo', name: 'Demo contact form' },
      externalId: randomUUID(),
      sender: {
        name: body.name,
        phones: body.phone ? [body.phone] : [],
        emails: body.email ? [body.email] : [],
      },
      content: { text: body.message },
      regionHints: { formRegion: body.region, formCity: body.city, clientIp: '127.0.0.1' },
      utm: { source: body.utm_source, campaign: body.utm_campaign },
      raw: { contentType: 'application/json', body: r.body },
    },
    { defaultCountry: 'RU' },
  );
}

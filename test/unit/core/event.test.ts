import { describe, expect, it } from 'vitest';
import { parseBusEvent, validForPublish } from '../../../event/bus-event.js';
import { buildDeliveryStatus } from '../../../event/delivery-status.js';
import { contactId, parseInboundContact, partitionKey } from '../../../event/inbound-contact.js';
import { formEvent } from '../../support/events.js';

describe('InboundContact v1', () => {
  it('derives a stable id from channel, source and external id', () => {
    expect(contactId('phone', 'demo', 'c1')).toBe(contactId('phone', 'demo', 'c1'));
    expect(contactId('phone', 'demo', 'c1')).not.toBe(contactId('phone', 'demo', 'c2'));
    expect(formEvent({ phone: '+74951234567', externalId: 'k' }).id).toBe(
      formEvent({ phone: '8 495 123 45 67', externalId: 'k' }).id,
    );
  });
  it('keys Kafka messages by the primary identity', () => {
    expect(partitionKey(formEvent({ phone: '8 (495) 123-45-67', email: 'a@b.io' }))).toBe(
      'phone:+74951234567',
    );
  });
  it('rejects an invalid event naming the field', () => {
    const e = { ...formEvent({ phone: '+74951234567' }), channel: 'fax' };
    expect(() => parseInboundContact(e)).toThrow(/channel/);
    const { occurredAt: _, ...noDate } = formEvent({ phone: '+74951234567' });
    expect(() => parseInboundContact(noDate)).toThrow(/occurredAt/);
  });
});

describe('validated once per process (event/validated.ts)', () => {
  it('publishes what a builder returned as is: the very object, not validated again', () => {
    const e = formEvent({ phone: '+74951234567' });
    expect(validForPublish(e)).toBe(e); // a schema parse would have returned a new object
    const s = buildDeliveryStatus({
      channel: 'whatsapp',
      accountKey: 'main',
      vendorMessageId: 'wamid.1',
      status: 'read',
    });
    expect(validForPublish(s)).toBe(s);
    // What a consumer parsed is not marked: published again (no code does), it would be validated again.
    const consumed = parseBusEvent(JSON.parse(JSON.stringify(e)));
    expect(validForPublish(consumed)).not.toBe(consumed);
    expect(validForPublish(consumed)).toEqual(e);
  });

  it('validates anything else before it may be published: copies and hand-made objects', () => {
    const e = formEvent({ phone: '+74951234567' });
    const copy = { ...e };
    const checked = validForPublish(copy);
    expect(checked).not.toBe(copy);
    expect(checked).toEqual(e);
    expect(() => validForPublish({ ...e, id: 'not-a-uuid' })).toThrow(/id/);
    expect(() =>
      validForPublish({ ...e, sender: { identities: [{ kind: 'fax', value: '1', valid: true }] } } as never),
    ).toThrow(/sender\.identities\.0\.kind/);
    // Marked objects are the parse's own results, so a changed copy of a marked event is not marked.
    expect(() => validForPublish(JSON.parse(JSON.stringify({ ...e, channel: 'fax' })))).toThrow(/channel/);
  });
});

import { describe, expect, it } from 'vitest';
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

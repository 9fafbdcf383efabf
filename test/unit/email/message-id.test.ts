import { describe, expect, it } from 'vitest';
import {
  canonicalMessageId,
  isOwnMessageId,
  messageIdList,
  ownMessageId,
} from '../../../channels/email/message-id.js';
import { parseHeaderBlock } from '../../../connectors/email/headers.js';
import { isOwnOutbound } from '../../../connectors/email/own-outbound.js';
import { readFixture } from './fixture.js';

describe('own Message-IDs', () => {
  it('ownMessageId makes unique ids that isOwnMessageId recognises', () => {
    const a = ownMessageId('crm.example.test');
    const b = ownMessageId('sales@crm.example.test'); // an address is accepted: its domain is used
    expect(a).toMatch(/^<ci\.[0-9a-z]+\.[0-9a-f]{16}@crm\.example\.test>$/);
    expect(b.endsWith('@crm.example.test>')).toBe(true);
    expect(a).not.toBe(b);
    expect(isOwnMessageId(a)).toBe(true);
    expect(isOwnMessageId(a.slice(1, -1))).toBe(true);
  });
  it('other ids are not ours', () => {
    for (const id of ['<ci-123@host>', '<abc@host>', '<ci.x.y@host>', '', undefined]) {
      expect(isOwnMessageId(id)).toBe(false);
    }
  });
  it('rejects a host that would break the header', () => {
    expect(() => ownMessageId('bad host')).toThrow(TypeError);
  });
  it('our outbound copy is recognised by id or by header; a bounce about it is not', async () => {
    expect(isOwnOutbound((await readFixture('own-outbound.eml')).parsed.headerLines, undefined)).toBe(true);
    expect(isOwnOutbound(parseHeaderBlock('X-Contact-Ingest-Outbound: 1\n\n'), '<a@b>')).toBe(true);
    const bounce = (await readFixture('dsn-postfix.eml')).parsed;
    expect(isOwnOutbound(bounce.headerLines, bounce.messageId)).toBe(false);
  });
});

describe('Message-ID parsing', () => {
  it('canonical form has angle brackets', () => {
    expect(canonicalMessageId(' <a.b@c> ')).toBe('<a.b@c>');
    expect(canonicalMessageId('a.b@c')).toBe('<a.b@c>');
    expect(canonicalMessageId('garbage')).toBeUndefined();
    expect(canonicalMessageId(undefined)).toBeUndefined();
  });
  it('lists keep order and drop duplicates', () => {
    expect(messageIdList('<a@x> <b@x>\r\n <a@x>')).toEqual(['<a@x>', '<b@x>']);
    expect(messageIdList(['<a@x>', '<c@x>'])).toEqual(['<a@x>', '<c@x>']);
    expect(messageIdList(undefined)).toEqual([]);
  });
});

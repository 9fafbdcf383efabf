import { describe, expect, it } from 'vitest';
import { extractBounce } from '../../../connectors/email/bounce.js';
import { parseHeaderBlock } from '../../../connectors/email/headers.js';
import { classifyRobot } from '../../../connectors/email/robots.js';
import { readFixture } from './fixture.js';

async function verdict(name: string) {
  const { parsed } = await readFixture(name);
  return classifyRobot({ headerLines: parsed.headerLines, fromAddress: parsed.from?.value[0]?.address });
}
const headers = (text: string) => ({
  headerLines: parseHeaderBlock(`${text}\n\nbody`),
  fromAddress: text.match(/^From:\s*(\S+@\S+)/m)?.[1],
});

describe('classifyRobot on real-shaped messages', () => {
  it.each([
    ['auto-reply.eml', 'auto-reply'],
    ['dsn-postfix.eml', 'bounce'],
    ['bounce-exim.eml', 'bounce'],
    ['mailing-list.eml', 'list'],
    ['newsletter-bulk.eml', 'bulk'],
  ])('%s is %s', async (name, kind) => {
    expect((await verdict(name))?.kind).toBe(kind);
  });

  it.each([
    'cp1251-base64.eml',
    'koi8r-qp-reply.eml',
    'attachments.eml',
    'html-only.eml',
    'no-message-id.eml',
    'malformed-date.eml',
  ])('%s is written by a person', async (name) => {
    expect(await verdict(name)).toBeUndefined();
  });
});

describe('classifyRobot rules', () => {
  it('Auto-Submitted: no is a person', () => {
    expect(classifyRobot(headers('From: a@b.test\nAuto-Submitted: no'))).toBeUndefined();
  });
  it('any other Auto-Submitted value is a robot, comments and case aside', () => {
    expect(classifyRobot(headers('Auto-Submitted: Auto-Generated (daily report)'))).toEqual({
      kind: 'auto-reply',
      reason: 'auto-submitted: auto-generated',
    });
  });
  it.each([
    ['X-Autoreply: yes', 'auto-reply'],
    ['X-Autorespond: vacation', 'auto-reply'],
    ['Precedence: auto_reply', 'auto-reply'],
    ['X-Auto-Response-Suppress: All', 'auto-reply'],
    ['Return-Path: <>', 'auto-reply'],
    ['Return-Path: <>\nFrom: MAILER-DAEMON@mx.test', 'bounce'],
    ['X-Failed-Recipients: x@y.test', 'bounce'],
    ['Content-Type: multipart/report; report-type="delivery-status"; boundary=x', 'bounce'],
    ['List-Id: <dev.lists.test>\nPrecedence: bulk', 'list'],
    ['Precedence: list', 'list'],
    ['Precedence: junk', 'bulk'],
    ['List-Unsubscribe: <https://u.test/x>', 'bulk'],
  ])('%j -> %s', (text, kind) => {
    expect(classifyRobot(headers(text))?.kind).toBe(kind);
  });
  it('a read receipt (multipart/report of another type) is not a bounce', () => {
    const v = classifyRobot(headers('Content-Type: multipart/report; report-type=disposition-notification'));
    expect(v?.kind).not.toBe('bounce');
  });
  it('X-Autoreply: no and a normal Return-Path are a person', () => {
    expect(classifyRobot(headers('X-Autoreply: no\nReturn-Path: <a@b.test>'))).toBeUndefined();
  });
});

describe('extractBounce', () => {
  it('Postfix DSN: failed recipients from message/delivery-status, our id from text/rfc822-headers', async () => {
    const { parsed } = await readFixture('dsn-postfix.eml');
    const b = extractBounce({
      headerLines: parsed.headerLines,
      parts: parsed.attachments,
      text: parsed.text,
    });
    expect(b.recipients).toEqual(['no-such-user@client.test']);
    expect(b.originalMessageId).toBe('<ci.lt8x2k1.0a1b2c3d4e5f6a7b@crm.example.test>');
    expect(b.details).toEqual([
      { recipient: 'no-such-user@client.test', action: 'failed', status: '5.1.1' },
      { recipient: 'delayed@client.test', action: 'delayed', status: '4.4.1' },
    ]);
  });

  it('Exim: X-Failed-Recipients merged, original id from the message/rfc822 part', async () => {
    const { parsed } = await readFixture('bounce-exim.eml');
    const b = extractBounce({
      headerLines: parsed.headerLines,
      parts: parsed.attachments,
      text: parsed.text,
    });
    expect(b.recipients).toEqual(['gone@client.test', 'gone2@client.test']);
    expect(b.originalMessageId).toBe('<original-42@example.test>');
  });

  it('falls back to Original-Message-ID and to a Message-ID quoted in the text', () => {
    const h = parseHeaderBlock('Original-Message-ID: <o-1@x.test>\n\n');
    expect(extractBounce({ headerLines: h, parts: [] }).originalMessageId).toBe('<o-1@x.test>');
    const t = extractBounce({ headerLines: [], parts: [], text: 'Headers:\n  Message-Id: <q-2@x.test>\n' });
    expect(t.originalMessageId).toBe('<q-2@x.test>');
    expect(t.recipients).toEqual([]);
  });
});

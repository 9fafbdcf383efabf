import { describe, expect, it } from 'vitest';
import type { AttachmentMeta } from '../../../connectors/email/attachments.js';
import {
  externalIdOf,
  messageDate,
  normaliseMessage,
  rawText,
  unparseableMessage,
} from '../../../connectors/email/normalise.js';
import { buildInboundContact } from '../../../event/build.js';
import { contactId } from '../../../event/inbound-contact.js';
import { LIMITS, MAILBOX, readFixture } from './fixture.js';

const NOW = new Date('2024-03-20T12:00:00Z');
const INTERNAL = new Date('2024-03-19T10:00:05Z');

async function eventOf(name: string, mailbox = MAILBOX, limits = LIMITS) {
  const { parsed, raw } = await readFixture(name);
  const draft = normaliseMessage(
    parsed,
    raw,
    { mailbox, folder: 'INBOX', uid: 42, internalDate: INTERNAL },
    limits,
    NOW,
  );
  return buildInboundContact(draft, { defaultCountry: 'RU', now: NOW });
}

describe('normaliseMessage', () => {
  it('windows-1251 encoded words and a base64 body', async () => {
    const e = await eventOf('cp1251-base64.eml');
    expect(e.channel).toBe('email');
    expect(e.kind).toBe('message');
    expect(e.direction).toBe('inbound');
    expect(e.source).toEqual({ type: 'mailbox', key: 'sales@example.test', name: 'Sales' });
    expect(e.sender.name).toBe('Иван Петров');
    expect(e.sender.identities).toEqual([{ kind: 'email', value: 'ivan.petrov@client.test', valid: true }]);
    expect(e.content.subject).toBe('Запрос коммерческого предложения на поставку оборудования');
    expect(e.content.text).toContain('Телефон для связи: +7 (495) 123-45-67.');
    expect(e.externalId).toBe('<000a01da7447$5e2b1c40$1a8154c0$@client.test>');
    expect(e.id).toBe(contactId('email', 'sales@example.test', e.externalId));
    expect(e.occurredAt).toBe('2024-03-12T06:14:58.000Z');
    expect(e.meta).toMatchObject({
      mailboxId: 7,
      folder: 'INBOX',
      uid: 42,
      from: { address: 'Ivan.Petrov@Client.TEST', name: 'Иван Петров' },
      to: [{ address: 'sales@example.test', name: 'Отдел продаж' }],
      cc: [{ address: 'maria@client.test', name: 'Мария Сидорова' }, { address: 'boss@client.test' }],
      replyTo: [{ address: 'ivan.reply@client.test', name: 'Иван (для ответа)' }],
      attachments: [],
      rawEncoding: 'utf-8',
    });
    expect(e.meta?.robot).toBeUndefined();
    expect(e.meta?.html).toBeUndefined();
    expect(e.raw.contentType).toBe('message/rfc822');
    expect(e.raw.body).toContain('Message-ID: <000a01da7447$5e2b1c40$1a8154c0$@client.test>');
  });

  it('KOI8-R quoted-printable reply: thread from In-Reply-To and References', async () => {
    const e = await eventOf('koi8r-qp-reply.eml');
    expect(e.sender.name).toBe('Ольга Смирнова');
    expect(e.content.subject).toBe('Re: Заявка N 4512 - уточнение');
    expect(e.content.text).toContain('потому что она длиннее семидесяти шести символов.');
    expect(e.thread).toEqual({
      messageId: '<1710342131.123456@mail.client.test>',
      inReplyTo: '<ci.lt8x2k1.0a1b2c3d4e5f6a7b@crm.example.test>',
      references: ['<root-4512@crm.example.test>', '<ci.lt8x2k1.0a1b2c3d4e5f6a7b@crm.example.test>'],
      ref: '<root-4512@crm.example.test>',
    });
  });

  it('attachments: metadata always, content inline only up to attachmentMaxBytes', async () => {
    const e = await eventOf('attachments.eml');
    const atts = e.meta!.attachments as AttachmentMeta[];
    expect(atts.map((a) => [a.filename, a.contentType, a.size, a.omitted])).toEqual([
      ['logo.png', 'image/png', 70, undefined],
      ['zamówienie.pdf', 'application/pdf', 2760, 'too-large'],
      ['прайс.csv', 'text/csv', 21, undefined],
    ]);
    expect(atts[0]).toMatchObject({ related: true, contentId: '<logo@client.test>', disposition: 'inline' });
    expect(atts[1]!.content).toBeUndefined();
    expect(atts[1]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(atts[2]!.content!, 'base64').toString('latin1')).toBe(
      '\xe0\xf0\xf2\xe8\xea\xf3\xeb;\xf6\xe5\xed\xe0\nA-1;100\n',
    );
    expect(e.content.text).toBe('Dzień dobry, w załączniku zamówienie.');
    expect(e.meta?.html).toBe('<p>Dzień dobry, w załączniku <b>zamówienie</b>.</p>');
  });

  it('the per-message inline total applies after the per-attachment limit', async () => {
    const e = await eventOf(
      'attachments.eml',
      { ...MAILBOX, attachmentMaxBytes: 10_000 },
      { ...LIMITS, inlineTotalMaxBytes: 2830 },
    );
    const atts = e.meta!.attachments as AttachmentMeta[];
    expect(atts.map((a) => a.omitted)).toEqual([undefined, undefined, 'total-limit']);
  });

  it('HTML only: text made from the HTML, HTML kept sanitised', async () => {
    const e = await eventOf('html-only.eml');
    expect(e.content.subject).toBe('Вопрос по заказу');
    expect(e.content.text).toContain('Где мой заказ № 77?');
    expect(e.content.text).toContain('заказ [https://client.test/order/77]');
    expect(e.content.text).not.toContain('pixel.gif');
    expect(e.content.text).not.toContain('javascript:');
    expect(e.content.text).toMatch(/Позиция +Кол-во\nСтул +4/);
    const html = e.meta?.html as string;
    expect(html).toContain('<h1>Вопрос по заказу</h1>');
    expect(html).toContain('<a href="https://client.test/order/77">заказ</a>');
    for (const bad of ['<script', 'alert', 'onload', 'onclick', 'javascript:', '<img', 'tracker', '<style']) {
      expect(html).not.toContain(bad);
    }
  });

  it('limits: text and HTML are cut, and say so', async () => {
    const e = await eventOf('html-only.eml', MAILBOX, { ...LIMITS, textMaxChars: 10, htmlMaxChars: 30 });
    expect(e.content.text).toHaveLength(10);
    expect(e.meta?.textTruncated).toBe(true);
    expect(e.meta?.htmlTruncated).toBe(true);
    expect((e.meta!.html as string).length).toBeLessThanOrEqual(30);
  });

  it('an auto-reply: no identity, the address in meta.from only', async () => {
    const e = await eventOf('auto-reply.eml');
    expect(e.sender.identities).toEqual([]);
    expect(e.sender.name).toBe('Иван Петров');
    expect(e.meta).toMatchObject({
      robot: 'auto-reply',
      robotReason: 'auto-submitted: auto-replied',
      from: { address: 'ivan.petrov@client.test' },
    });
    expect(e.meta?.bounce).toBeUndefined();
  });

  it('a DSN bounce carries meta.bounce', async () => {
    const e = await eventOf('dsn-postfix.eml');
    expect(e.sender.identities).toEqual([]);
    expect(e.meta?.robot).toBe('bounce');
    expect(e.meta?.bounce).toMatchObject({
      recipients: ['no-such-user@client.test'],
      originalMessageId: '<ci.lt8x2k1.0a1b2c3d4e5f6a7b@crm.example.test>',
    });
    expect((e.meta!.attachments as AttachmentMeta[]).map((a) => a.contentType)).toEqual([
      'message/delivery-status',
      'text/rfc822-headers',
    ]);
  });

  it("mail from the mailbox's own address creates no identity", async () => {
    const e = await eventOf('own-outbound.eml'); // From: sales@example.test, the fixture mailbox
    expect(e.sender.identities).toEqual([]);
    expect(e.meta).toMatchObject({
      fromMailbox: true,
      from: { address: 'sales@example.test', name: 'Sales' },
    });
    expect((await eventOf('cp1251-base64.eml')).meta?.fromMailbox).toBeUndefined();
  });

  it('a mailing-list post is marked and creates no identity', async () => {
    const e = await eventOf('mailing-list.eml');
    expect(e.meta?.robot).toBe('list');
    expect(e.sender.identities).toEqual([]);
  });

  it('missing Message-ID: external id is the hash of the source, thread ids absent', async () => {
    const { raw } = await readFixture('no-message-id.eml');
    const e = await eventOf('no-message-id.eml');
    expect(e.externalId).toBe(`sha256:${raw.sha256}`);
    expect(e.thread?.messageId).toBeUndefined();
    expect(e.thread?.ref).toBeUndefined();
    expect((await eventOf('no-message-id.eml')).id).toBe(e.id); // stable across re-reads
  });

  it('malformed Date: occurredAt falls back to the server receive time', async () => {
    const e = await eventOf('malformed-date.eml');
    expect(e.occurredAt).toBe(INTERNAL.toISOString());
    expect(e.meta?.dateInvalid).toBe(true);
    expect(e.sender.name).toBe('Weird, Client');
  });
});

describe('helpers', () => {
  it('messageDate rejects garbage and the far future, accepts comments', () => {
    expect(messageDate('Sun, 17 Mar 2024 11:00:05 +0300 (MSK)', NOW)).toEqual({
      valid: true,
      value: new Date('2024-03-17T08:00:05Z'),
    });
    expect(messageDate('32 Foo 2024', NOW).valid).toBe(false);
    expect(messageDate(undefined, NOW).valid).toBe(false);
    expect(messageDate('Mon, 1 Jan 2035 00:00:00 +0000', NOW).valid).toBe(false);
  });

  it('rawText keeps UTF-8 as is and other bytes as latin1, losslessly', () => {
    expect(rawText(Buffer.from('Привет', 'utf8'))).toEqual({ body: 'Привет', encoding: 'utf-8' });
    const cp1251 = Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]);
    const r = rawText(cp1251);
    expect(r.encoding).toBe('latin1');
    expect(Buffer.from(r.body, 'latin1').equals(cp1251)).toBe(true);
    // A head cut inside a multi-byte character is still UTF-8.
    expect(rawText(Buffer.from('ab\u0416', 'utf8').subarray(0, 3)).encoding).toBe('utf-8');
  });

  it('externalIdOf prefers the Message-ID and hashes absurdly long ones', () => {
    expect(externalIdOf('<a@b>', 'ff')).toBe('<a@b>');
    expect(externalIdOf(undefined, 'ff')).toBe('sha256:ff');
    expect(externalIdOf(`<${'x'.repeat(600)}@b>`, 'ff')).toBe('sha256:ff');
  });

  it('an unparseable message becomes an event with parseError and the raw source', () => {
    const head = Buffer.from(
      'Message-ID: <broken@x.test>\r\nContent-Type: multipart/mixed\r\n\r\n\u0000garbage',
    );
    const draft = unparseableMessage(
      { head, size: head.length, sha256: 'ab'.repeat(32) },
      { mailbox: MAILBOX, folder: 'INBOX', uid: 9, internalDate: INTERNAL },
      new Error('boom'),
      NOW,
    );
    const e = buildInboundContact(draft, { defaultCountry: 'RU', now: NOW });
    expect(e.externalId).toBe('<broken@x.test>');
    expect(e.sender.identities).toEqual([]);
    expect(e.meta).toMatchObject({ parseError: 'boom', uid: 9, mailboxId: 7 });
    expect(e.raw.body).toContain('garbage');
    expect(e.occurredAt).toBe(INTERNAL.toISOString());
  });
});

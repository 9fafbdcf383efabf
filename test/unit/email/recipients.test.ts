import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readUsers, resolveRecipient, withDeliveryHeaders } from '../../../scripts/mail/recipients.js';

describe('SMTP sink recipient mapping', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sink-')), 'passwd');
  writeFileSync(
    file,
    'inbox@example.test:{PLAIN}secret::::::\nSupport@example.test:{PLAIN}pw2::::::\n# comment\n',
  );
  const users = readUsers(file);

  it('reads the passwd-file', () => {
    expect([...users]).toEqual([
      ['inbox@example.test', 'secret'],
      ['support@example.test', 'pw2'],
    ]);
  });
  it('a known user gets the mail, a +detail picks the folder', () => {
    expect(resolveRecipient('support@example.test', users, 'inbox@example.test')).toEqual({
      user: 'support@example.test',
      password: 'pw2',
      folder: 'INBOX',
    });
    expect(resolveRecipient('Support+IT-42@example.test', users, 'inbox@example.test').folder).toBe('it-42');
    expect(resolveRecipient('support+../x@example.test', users, 'inbox@example.test').folder).toBe('INBOX');
  });
  it('anyone else lands in the default user INBOX', () => {
    expect(resolveRecipient('stranger@else.test', users, 'inbox@example.test')).toMatchObject({
      user: 'inbox@example.test',
      folder: 'INBOX',
    });
  });
  it('records the envelope sender as Return-Path, replacing one the message carried', () => {
    const raw = Buffer.from('Return-Path: <spoof@x>\r\nSubject: hi\r\n\r\nReturn-Path: <body@x>\r\n');
    const out = withDeliveryHeaders(raw, '', 'a@b.test').toString();
    expect(out.startsWith('Return-Path: <>\r\nReceived: from localhost by smtp-sink for <a@b.test>;')).toBe(
      true,
    );
    expect(out).not.toContain('spoof');
    expect(out.endsWith('Subject: hi\r\n\r\nReturn-Path: <body@x>\r\n')).toBe(true);
  });
});

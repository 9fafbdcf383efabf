import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RAW_HEAD_BYTES, sha256Hex } from '../../../connectors/email/normalise.js';
import { readMessage } from '../../../connectors/email/read-message.js';
import { fixtureBytes } from './fixture.js';

const chunks = (buf: Buffer, size: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(buf.length / size) }, (_, i) => buf.subarray(i * size, (i + 1) * size)),
  );

describe('readMessage', () => {
  it('parses, hashes and keeps the head in one pass', async () => {
    const bytes = fixtureBytes('attachments.eml');
    const r = await readMessage(chunks(bytes, 100));
    expect('parsed' in r && r.parsed.subject).toBe('Zamówienie i faktura');
    expect(r.raw.size).toBe(bytes.length);
    expect(r.raw.sha256).toBe(sha256Hex(bytes));
    expect(r.raw.head.equals(bytes)).toBe(true);
  });

  it('keeps only the head of a large message but hashes all of it', async () => {
    const big = Buffer.concat([fixtureBytes('no-message-id.eml'), Buffer.alloc(RAW_HEAD_BYTES, 'x')]);
    const r = await readMessage(chunks(big, 64 * 1024));
    expect(r.raw.head.length).toBe(RAW_HEAD_BYTES);
    expect(r.raw.size).toBe(big.length);
    expect(r.raw.sha256).toBe(sha256Hex(big));
  });

  it('a parser failure is returned with the whole raw source, not thrown', async () => {
    const bytes = fixtureBytes('html-only.eml');
    const failing = async (s: Readable) => {
      for await (const _ of s) throw new Error('parser exploded');
      throw new Error('unreachable');
    };
    const r = await readMessage(chunks(bytes, 50), failing);
    expect('parseError' in r && (r.parseError as Error).message).toBe('parser exploded');
    expect(r.raw.sha256).toBe(sha256Hex(bytes));
    expect(r.raw.head.equals(bytes)).toBe(true);
  });

  it('a parser that fails before reading anything still gets the source drained', async () => {
    const bytes = fixtureBytes('html-only.eml');
    const r = await readMessage(chunks(bytes, 50), async () => {
      throw new Error('no');
    });
    expect(r.raw.size).toBe(bytes.length);
  });

  it('a broken source (connection lost) is thrown: never half a message', async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.from('Subject: x\r\n'));
    setTimeout(() => source.destroy(new Error('ECONNRESET')), 10);
    await expect(readMessage(source)).rejects.toThrow('ECONNRESET');
  });

  it('a source closed without an end is thrown too', async () => {
    const source = new Readable({ read() {} });
    source.push(Buffer.from('Subject: x\r\n'));
    setTimeout(() => source.destroy(), 10);
    await expect(readMessage(source)).rejects.toThrow('closed before its end');
  });

  it('mailparser itself refuses some messages (here: more than 1000 MIME parts)', async () => {
    const parts = Array.from({ length: 1200 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\np${i}\r\n`);
    const bytes = Buffer.from(
      `Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${parts.join('')}--b--\r\n`,
    );
    const r = await readMessage(chunks(bytes, 4096));
    expect('parseError' in r && String(r.parseError)).toMatch(/child nodes/);
    expect(r.raw.sha256).toBe(sha256Hex(bytes));
  });
});

import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { type ParsedMail, simpleParser } from 'mailparser';
import { RAW_HEAD_BYTES, type RawSource } from './normalise.js';

/**
 * Reads one message from a stream (an IMAP download) in a single pass: the parser, the SHA-256 of the whole
 * source and the head kept for the event's raw copy all see the same bytes, and the source is never held
 * twice in memory. A parser failure is returned, not thrown: the caller still publishes the message.
 * A failure of the stream itself (the connection dropped) is thrown, so the message is read again later.
 */
export type ReadResult = { raw: RawSource } & ({ parsed: ParsedMail } | { parseError: unknown });

export type Parser = (source: Readable) => Promise<ParsedMail>;

/**
 * Attachments stay attachments (bounces need their message/rfc822 part), cid: links stay links, and HTML-only
 * mail is converted to text by body.ts (bounded input, images and tracking pixels left out), not by mailparser.
 */
export const parseMail: Parser = (source) =>
  simpleParser(source, {
    keepDeliveryStatus: true,
    ignoreEmbedded: true,
    keepCidLinks: true,
    skipTextToHtml: true,
    skipImageLinks: true,
    skipHtmlToText: true,
  });

export async function readMessage(source: Readable, parser: Parser = parseMail): Promise<ReadResult> {
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headBytes = 0;
  let size = 0;
  let sourceError: unknown;
  const ended = new Promise<void>((resolve) => {
    source.once('end', resolve);
    source.once('close', resolve);
    source.once('error', (err) => {
      sourceError = err;
      resolve();
    });
  });
  // Hash and head are taken here, not in the parser's pipe, so they stay whole when the parser gives up early.
  source.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    size += chunk.length;
    if (headBytes < RAW_HEAD_BYTES) {
      const part = chunk.subarray(0, RAW_HEAD_BYTES - headBytes);
      head.push(part);
      headBytes += part.length;
    }
  });
  const toParser = new PassThrough();
  source.pipe(toParser);
  // pipe() does not end its destination when the source fails: without this the parser would wait forever.
  const cut = (err: unknown) => toParser.destroy(err instanceof Error ? err : new Error(String(err)));
  source.once('error', cut);
  source.once('close', () => source.readableEnded || cut(new Error('message stream closed before its end')));

  let parsed: ParsedMail | undefined;
  let parseError: unknown;
  try {
    parsed = await parser(toParser);
  } catch (err) {
    parseError = err;
  }
  if (!source.readableEnded) {
    // The parser stopped before the end (an error, or it ignores the epilogue): drain the rest ourselves.
    source.unpipe(toParser);
    source.resume();
  }
  await ended;
  if (sourceError) throw sourceError;
  // Closed without an end: the connection went away mid-message. Never publish half a message.
  if (!source.readableEnded) throw new Error('message stream closed before its end');
  const raw: RawSource = { head: Buffer.concat(head), size, sha256: hash.digest('hex') };
  return parsed ? { raw, parsed } : { raw, parseError };
}

import type { ImapFlow } from 'imapflow';
import type { MailboxSettings } from '../../channels/settings.js';
import { buildInboundContact } from '../../event/build.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import type { Logger } from '../../lib/logger.js';
import { type MessageLocation, normaliseMessage, unparseableMessage } from './normalise.js';
import type { ResolvedOptions } from './options.js';
import { isOwnOutbound } from './own-outbound.js';
import { type Parser, parseMail, readMessage } from './read-message.js';

/** One UID of a folder, read and turned into an event, or skipped with the reason. */
export type Ingested =
  | { uid: number; event: InboundContact }
  | { uid: number; skipped: 'own-outbound' | 'vanished' };

export interface IngestEnv {
  mailbox: MailboxSettings;
  folder: string;
  opts: ResolvedOptions;
  defaultCountry: string;
  log: Logger;
  parser?: Parser;
}

export async function ingestMessage(
  client: ImapFlow,
  uid: number,
  internalDate: Date | undefined,
  env: IngestEnv,
): Promise<Ingested> {
  // The source is streamed in partial FETCHes (BODY.PEEK, so \Seen is left alone), never held whole twice.
  const dl = await client.download(String(uid), undefined, {
    uid: true,
    chunkSize: env.opts.downloadChunkBytes,
  });
  if (!('content' in dl) || !dl.content) return { uid, skipped: 'vanished' }; // expunged since the SEARCH
  const read = await readMessage(dl.content, env.parser ?? parseMail);
  const loc: MessageLocation = { mailbox: env.mailbox, folder: env.folder, uid, internalDate };
  const now = env.opts.now();
  if ('parseError' in read) {
    env.log.error(
      { err: read.parseError, uid, size: read.raw.size },
      'email: unparseable message, published raw',
    );
    return { uid, event: build(unparseableMessage(read.raw, loc, read.parseError, now)) };
  }
  if (isOwnOutbound(read.parsed.headerLines, read.parsed.messageId)) return { uid, skipped: 'own-outbound' };
  try {
    return { uid, event: build(normaliseMessage(read.parsed, read.raw, loc, env.opts, now)) };
  } catch (err) {
    // A message the schema rejects (a header past every limit, say) is still recorded, as unreadable.
    env.log.error({ err, uid }, 'email: message failed event validation, published raw');
    return { uid, event: build(unparseableMessage(read.raw, loc, err, now)) };
  }

  function build(draft: Parameters<typeof buildInboundContact>[0]): InboundContact {
    return buildInboundContact(draft, { defaultCountry: env.defaultCountry, now });
  }
}

import type { ImapFlow } from 'imapflow';
import type { MailboxSettings } from '../../channels/settings.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import type { Logger } from '../../lib/logger.js';
import { retry } from '../../lib/retry.js';
import type { ConnectorContext } from '../contract.js';
import { type Ingested, ingestMessage } from './ingest.js';
import type { ResolvedOptions } from './options.js';
import { markProcessed } from './processed.js';
import type { Parser } from './read-message.js';

/**
 * One pass over a folder: every UID above the cursor is read, published, and only then the cursor moves
 * (at-least-once). A crash between publish and cursor write re-publishes the batch; the event id is derived
 * from the Message-ID, so downstream sees the same events again and drops them.
 */
export interface FolderCursor {
  /** IMAP UIDVALIDITY as a decimal string (it is a 32-bit unsigned number; imapflow gives a bigint). */
  uidValidity: string;
  /** Every UID up to this one is done (published or deliberately skipped). */
  lastUid: number;
  syncedAt: string;
  /** A first sync (or a resync after a UIDVALIDITY change) in progress: messages SINCE `since`, up to `untilUid`. */
  resync?: { since: string; untilUid: number };
}

export const CURSOR_CONNECTOR = 'email';
export const cursorKey = (mailboxId: number, folder: string) => `${mailboxId}:${folder}`;

export interface SyncEnv {
  ctx: ConnectorContext;
  mailbox: MailboxSettings;
  folder: string;
  opts: ResolvedOptions;
  log: Logger;
  stopped: () => boolean;
  signal?: AbortSignal;
  parser?: Parser;
}

export async function syncFolder(
  client: ImapFlow,
  env: SyncEnv,
): Promise<{ published: number; skipped: number }> {
  const box = client.mailbox;
  if (!box) throw new Error(`email: folder ${env.folder} is not selected`);
  const key = cursorKey(env.mailbox.id, env.folder);
  let cursor = await env.ctx.cursors.get<FolderCursor>(CURSOR_CONNECTOR, key);
  if (!cursor || cursor.uidValidity !== String(box.uidValidity)) {
    cursor = startCursor(cursor, String(box.uidValidity), box.uidNext, env);
    await env.ctx.cursors.set(CURSOR_CONNECTOR, key, cursor);
  }
  const uids = await pendingUids(client, cursor);
  const stats = { published: 0, skipped: 0 };
  for (let i = 0; i < uids.length && !env.stopped(); i += env.opts.batchSize) {
    const batch = uids.slice(i, i + env.opts.batchSize);
    const dates = new Map<number, Date | undefined>();
    for await (const m of client.fetch(batch, { uid: true, internalDate: true }, { uid: true })) {
      dates.set(m.uid, m.internalDate ? new Date(m.internalDate) : undefined);
    }
    let items: Ingested[] = [];
    let bytes = 0;
    for (const uid of batch) {
      if (env.stopped()) break;
      const item = await ingestMessage(client, uid, dates.get(uid), {
        ...env,
        defaultCountry: env.ctx.config.defaultCountry,
      });
      items.push(item);
      if ('event' in item) bytes += approxSize(item.event);
      if (bytes >= env.opts.publishBatchBytes) {
        cursor = await flush(client, items, cursor, env, stats);
        items = [];
        bytes = 0;
      }
    }
    cursor = await flush(client, items, cursor, env, stats);
  }
  if (cursor.resync && !env.stopped()) {
    // Everything since `since` is in; older UIDs below the mark were deliberately left out.
    cursor = {
      uidValidity: cursor.uidValidity,
      lastUid: Math.max(cursor.lastUid, cursor.resync.untilUid),
      syncedAt: now(env),
    };
    await env.ctx.cursors.set(CURSOR_CONNECTOR, key, cursor);
  }
  return stats;
}

/** Publish, then move the cursor, then mark the messages: in that order, so a failure never loses mail. */
async function flush(
  client: ImapFlow,
  items: Ingested[],
  cursor: FolderCursor,
  env: SyncEnv,
  stats: { published: number; skipped: number },
): Promise<FolderCursor> {
  const last = items.at(-1);
  if (!last) return cursor;
  const events = items.flatMap((i) => ('event' in i ? [i.event] : []));
  if (events.length) {
    await retry(() => env.ctx.bus.publish(events), {
      retries: env.opts.publishRetries,
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      signal: env.signal,
      onRetry: (err, attempt, delayMs) =>
        env.log.warn({ err, attempt, delayMs }, 'email: publish failed, retrying'),
    });
  }
  const next: FolderCursor = { ...cursor, lastUid: Math.max(cursor.lastUid, last.uid), syncedAt: now(env) };
  await env.ctx.cursors.set(CURSOR_CONNECTOR, cursorKey(env.mailbox.id, env.folder), next);
  stats.published += events.length;
  stats.skipped += items.length - events.length;
  const handled = items.filter((i) => !('skipped' in i && i.skipped === 'vanished')).map((i) => i.uid);
  await markProcessed(client, handled, env.mailbox.processed, env.log);
  env.log.debug({ published: events.length, lastUid: next.lastUid }, 'email: batch published');
  return next;
}

/**
 * No cursor yet, or UIDVALIDITY changed (the folder was rebuilt, every UID we knew is meaningless).
 * With a date to start from, messages SINCE it are (re)read; without one, only mail arriving from now on.
 */
function startCursor(
  old: FolderCursor | undefined,
  uidValidity: string,
  uidNext: number,
  env: SyncEnv,
): FolderCursor {
  const floor = Math.max(0, (uidNext || 1) - 1);
  // After a UIDVALIDITY change without syncSince: re-read from a day before the last good sync, so nothing
  // that arrived around the change is lost; repeats are harmless (same Message-ID, same event id).
  const sinceMs = env.mailbox.syncSince
    ? Date.parse(env.mailbox.syncSince)
    : old
      ? Date.parse(old.syncedAt) - 86_400_000
      : Number.NaN;
  if (old)
    env.log.warn({ old: old.uidValidity, uidValidity }, 'email: UIDVALIDITY changed, resyncing folder');
  if (Number.isNaN(sinceMs)) return { uidValidity, lastUid: floor, syncedAt: now(env) };
  return {
    uidValidity,
    lastUid: 0,
    syncedAt: now(env),
    resync: { since: new Date(sinceMs).toISOString(), untilUid: floor },
  };
}

async function pendingUids(client: ImapFlow, cursor: FolderCursor): Promise<number[]> {
  const search = async (q: Parameters<ImapFlow['search']>[0]) =>
    (await client.search(q, { uid: true })) || [];
  let uids: number[];
  if (cursor.resync) {
    // IMAP SINCE compares dates, not times (RFC 3501 §6.4.4): a few hours before `since` may come along.
    const old = await search({ uid: `${cursor.lastUid + 1}:*`, since: new Date(cursor.resync.since) });
    const fresh = await search({ uid: `${Math.max(cursor.lastUid, cursor.resync.untilUid) + 1}:*` });
    uids = [...old, ...fresh];
  } else {
    uids = await search({ uid: `${cursor.lastUid + 1}:*` });
  }
  // `N:*` always matches the highest UID, even one below N.
  return [...new Set(uids)].filter((u) => u > cursor.lastUid).sort((a, b) => a - b);
}

const now = (env: SyncEnv) => env.opts.now().toISOString();
const approxSize = (e: InboundContact) => e.raw.body.length + JSON.stringify(e.meta ?? {}).length;

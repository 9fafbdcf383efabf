import pg from 'pg';
import type { Logger } from '../lib/logger.js';
import { backoffDelay } from '../lib/retry.js';
import type { RealtimeHub, RealtimeNotice } from './hub.js';
import { createLocalDispatcher } from './memory-hub.js';

/**
 * The hub of several API instances on one PostgreSQL: every notice is a NOTIFY on one channel, every instance
 * LISTENs on it with one dedicated connection (outside the pool, which would hand it to queries) and dispatches
 * what arrives to its own sockets. The database every instance already shares is the bus, whatever the contact
 * bus is (Kafka or in process), so no new service is needed and a notice leaves only after the change it tells
 * about has committed.
 *
 * A notice published here comes back to this instance through its own LISTEN, so local sockets are served by
 * the same path as remote ones (one delivery, never two). While the connection is down, notices are dispatched
 * locally only (the other instances miss them; the console refetches on reconnect) and the connection is
 * re-established with back-off. Publishing never throws: the caller has already committed its work.
 */
export interface PgHubOptions {
  connectionString: string;
  logger: Logger;
  /** NOTIFY channel; one per deployment (REALTIME_CHANNEL), tests use their own. */
  channel?: string;
  /**
   * false: publish only. The router's worker thread (app/router-worker.ts) has no sockets to serve, so it sends
   * its NOTIFYs without hearing everyone's. Default true.
   */
  listen?: boolean;
}

/** NOTIFY refuses payloads of 8,000 bytes or more. */
export const MAX_PAYLOAD_BYTES = 7_999;
export const DEFAULT_CHANNEL = 'contact_ingest_realtime';

export async function createPgHub(
  opts: PgHubOptions,
): Promise<RealtimeHub & { readonly connected: boolean }> {
  const log = opts.logger.child({ component: 'realtime' });
  const channel = opts.channel ?? DEFAULT_CHANNEL;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel))
    throw new Error(`realtime channel "${channel}" is not a name`);
  const local = createLocalDispatcher();
  let client: pg.Client | undefined;
  let connected = false;
  let closed = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  function onNotification(msg: pg.Notification) {
    if (msg.channel !== channel || !msg.payload) return;
    try {
      const n = JSON.parse(msg.payload) as RealtimeNotice;
      if (typeof n.topic === 'string' && typeof n.type === 'string') local.dispatch(n);
    } catch (err) {
      log.warn({ err }, 'unreadable realtime notice ignored');
    }
  }

  async function connect(): Promise<void> {
    // Named, so an operator (or a test) finds these connections in pg_stat_activity.
    const c = new pg.Client({
      connectionString: opts.connectionString,
      application_name: `realtime:${channel}`,
    });
    c.on('notification', onNotification);
    c.on('error', (err) => {
      // A lost connection: the 'end' handler below reconnects.
      log.warn({ err }, 'realtime connection error');
    });
    c.on('end', () => {
      if (client !== c) return;
      connected = false;
      client = undefined;
      if (!closed) scheduleReconnect();
    });
    client = c;
    try {
      await c.connect();
      if (opts.listen !== false) await c.query(`LISTEN ${channel}`);
      connected = true;
      if (attempt > 0) log.info({ attempt }, 'realtime connection restored');
      attempt = 0;
    } catch (err) {
      client = undefined;
      await c.end().catch(() => {});
      throw err;
    }
  }

  function scheduleReconnect() {
    if (closed || retryTimer) return;
    attempt += 1;
    const delay = backoffDelay(attempt, 200, 10_000);
    if (attempt === 1) log.warn('realtime connection lost; reconnecting');
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connect().catch((err) => {
        log.warn({ err, attempt }, 'realtime reconnect failed');
        scheduleReconnect();
      });
    }, delay);
    retryTimer.unref();
  }

  /**
   * Notices wait here while a NOTIFY statement is in flight, and the next statement sends all of them: one
   * query at a time on the connection (pg does not queue overlapping queries on a client for much longer), and
   * a burst costs one round trip. NOTIFYs of one statement arrive in order; identical ones (the same
   * `work.changed` twice) arrive once, which is what a listener would do with them anyway.
   */
  const queue: { notice: RealtimeNotice; payload: string; done: () => void }[] = [];
  let flushing = false;
  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (queue.length) {
        const batch = queue.splice(0, 500);
        const c = client;
        try {
          if (!c || !connected) throw new Error('realtime connection down');
          await c.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [
            channel,
            batch.map((b) => b.payload),
          ]);
        } catch (err) {
          log.warn({ err, notices: batch.length }, 'realtime NOTIFY failed; local only');
          for (const b of batch) local.dispatch(b.notice);
        }
        for (const b of batch) b.done();
      }
    } finally {
      flushing = false;
    }
  }

  // At start the database has just answered the migrations, so a failure here is worth failing start-up for.
  await connect();

  return {
    kind: 'postgres',
    get connected() {
      return connected;
    },
    publish(notice) {
      const payload = JSON.stringify(notice);
      if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
        log.warn(
          { topic: notice.topic, type: notice.type },
          'realtime notice too large for NOTIFY; local only',
        );
        local.dispatch(notice);
        return Promise.resolve();
      }
      if (!client || !connected) {
        local.dispatch(notice);
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        queue.push({ notice, payload, done: resolve });
        if (!flushing) void flush();
      });
    },
    subscribe: (topic, listener) => local.subscribe(topic, listener),
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const c = client;
      client = undefined;
      connected = false;
      await c?.end().catch(() => {});
    },
  };
}

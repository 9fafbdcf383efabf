import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CURSOR_CONNECTOR, cursorKey } from '../../../connectors/telegram/poller.js';
import { cursorStore } from '../../../crm-core/repositories/channel-settings.repository.js';
import { AppError } from '../../../lib/errors.js';
import { RecordingPublisher } from '../../support/connector-doubles.js';
import { createTestPglite, type TestDatabase } from '../../support/db.js';
import {
  BOT_TOKEN,
  fixture,
  MemoryCursors,
  type TelegramHarness,
  telegramAccount,
  telegramHarness,
} from '../../support/telegram-app.js';
import { TelegramApiServer } from '../../support/vendors/telegram-api.js';

/**
 * Long polling against a local Bot API server: telegraf's getUpdates with the real offset semantics (an update
 * is gone once a getUpdates names a higher offset), so "no loss" and "no repeat" are observable on the server.
 */
const pollingAccount = telegramAccount({ key: 'poll', mode: 'polling', webhookSecret: undefined });
const FAST = { refreshIntervalMs: 50, pollTimeoutSec: 1, retryInitialMs: 20, retryMaxMs: 100 };
const waitFor = (fn: () => void, timeout = 5_000) => vi.waitFor(fn, { timeout, interval: 20 });
/** A fixture's update without its update_id: the server numbers updates itself. */
const update = (name: string) => {
  const { update_id: _, ...rest } = fixture(name);
  return rest;
};

let api: TelegramApiServer;
const running: TelegramHarness[] = [];
function start(opts: Parameters<typeof telegramHarness>[0] = {}): TelegramHarness {
  const h = telegramHarness({ accounts: [pollingAccount], apiUrl: api.url, options: FAST, ...opts });
  running.push(h);
  return h;
}

beforeEach(async () => {
  api = await TelegramApiServer.start();
  api.addBot(BOT_TOKEN);
});
afterEach(async () => {
  for (const h of running.splice(0)) await h.connector.stop();
  await api.close();
});

describe('Telegram long polling', () => {
  it('publishes what getUpdates returns, then stores offset = last update_id + 1 and confirms with it', async () => {
    const ids = [api.pushUpdate(BOT_TOKEN, update('text')), api.pushUpdate(BOT_TOKEN, update('photo'))];
    const h = start();
    await h.connector.start();
    await waitFor(() => expect(h.bus.events).toHaveLength(2));
    expect(h.bus.events.map((e) => e.meta?.updateId)).toEqual(ids);
    await waitFor(() => expect(api.pending(BOT_TOKEN)).toEqual([]));
    expect(await h.cursors.get(CURSOR_CONNECTOR, cursorKey(pollingAccount))).toEqual({ offset: ids[1]! + 1 });
    const polls = api.callsOf('getUpdates').map((c) => c.params);
    expect(polls[0]).toMatchObject({ timeout: 1, limit: 100 });
    expect(polls[0]!.offset).toBeUndefined();
    expect(polls[1]).toMatchObject({ offset: ids[1]! + 1 });
    expect(h.updates).toEqual([
      { vendor: 'telegram', kind: 'message', outcome: 'published' },
      { vendor: 'telegram', kind: 'message', outcome: 'published' },
    ]);
  });

  it('unhandled and bot updates are counted and passed over; the offset moves past them', async () => {
    api.pushUpdate(BOT_TOKEN, update('channel-post'));
    const last = api.pushUpdate(BOT_TOKEN, update('from-bot'));
    const h = start();
    await h.connector.start();
    await waitFor(() => expect(h.updates).toHaveLength(2));
    expect(h.updates.map((u) => [u.kind, u.outcome])).toEqual([
      ['channel_post', 'unhandled'],
      ['message', 'ignored'],
    ]);
    expect(h.bus.events).toHaveLength(0);
    await waitFor(async () =>
      expect(await h.cursors.get(CURSOR_CONNECTOR, cursorKey(pollingAccount))).toEqual({ offset: last + 1 }),
    );
  });

  it('a publish failure does not advance the offset: the same updates are retried, then published once', async () => {
    const id = api.pushUpdate(BOT_TOKEN, update('document'));
    const h = start();
    h.bus.failWith = new AppError('BUS_UNAVAILABLE', 'bus is down (test)', { retryAfterSec: 5 });
    await h.connector.start();
    await waitFor(() => expect(api.callsOf('getUpdates').length).toBeGreaterThanOrEqual(3));
    expect(api.callsOf('getUpdates').every((c) => c.params.offset === undefined)).toBe(true);
    expect(api.pending(BOT_TOKEN)).toEqual([id]);
    expect(await h.cursors.get(CURSOR_CONNECTOR, cursorKey(pollingAccount))).toBeUndefined();
    expect(h.updates).toEqual([]);
    h.bus.failWith = undefined;
    await waitFor(() => expect(h.bus.events).toHaveLength(1));
    await waitFor(() => expect(api.pending(BOT_TOKEN)).toEqual([]));
    expect(h.bus.events[0]!.meta?.updateId).toBe(id);
  });

  it('a failed cursor write keeps the updates at Telegram; the retry republishes the same event ids', async () => {
    const id = api.pushUpdate(BOT_TOKEN, update('voice'));
    const cursors = new MemoryCursors();
    cursors.failWith = new Error('database restarting');
    const h = start({ cursors });
    await h.connector.start();
    await waitFor(() => expect(h.bus.events.length).toBeGreaterThanOrEqual(2));
    expect(new Set(h.bus.events.map((e) => e.id)).size).toBe(1);
    expect(api.pending(BOT_TOKEN)).toEqual([id]);
    cursors.failWith = undefined;
    await waitFor(() => expect(api.pending(BOT_TOKEN)).toEqual([]));
    expect(await cursors.get(CURSOR_CONNECTOR, cursorKey(pollingAccount))).toEqual({ offset: id + 1 });
  });

  it('honours retry_after of a 429 before polling again', async () => {
    api.failNext('getUpdates', {
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
    api.pushUpdate(BOT_TOKEN, update('text'));
    const h = start();
    const t0 = Date.now();
    await h.connector.start();
    await waitFor(() => expect(h.bus.events).toHaveLength(1));
    // Back-off alone would retry after 20 ms; Telegram asked for a second.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });

  it('stop() ends a long poll in flight at once, not when Telegram answers', async () => {
    const h = start({ options: { ...FAST, pollTimeoutSec: 30 } });
    await h.connector.start();
    await waitFor(() => expect(api.callsOf('getUpdates')).toHaveLength(1));
    const t0 = Date.now();
    await h.connector.stop();
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('pollers start and stop as accounts change (mode, active), without a restart', async () => {
    const settingsAccount = telegramAccount({ key: 'poll', mode: 'webhook' });
    const h = start({ accounts: [settingsAccount] });
    await h.connector.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(api.callsOf('getUpdates')).toHaveLength(0);
    h.settings.accounts = [{ ...settingsAccount, mode: 'polling' }];
    api.pushUpdate(BOT_TOKEN, update('location'));
    await waitFor(() => expect(h.bus.events).toHaveLength(1));
    h.settings.accounts = [{ ...settingsAccount, mode: 'polling', active: false }];
    // A live poller calls getUpdates at least every pollTimeoutSec (1 s): stopped = no call for 1.5 s.
    const quiet = async () => {
      const calls = api.callsOf('getUpdates').length;
      await new Promise((r) => setTimeout(r, 1_500));
      expect(api.callsOf('getUpdates')).toHaveLength(calls);
    };
    await waitFor(quiet, 15_000);
    api.pushUpdate(BOT_TOKEN, update('sticker'));
    await quiet();
    expect(h.bus.events).toHaveLength(1);
  });
});

describe('Telegram long polling across a restart (cursor in crm-core, PGlite)', () => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestPglite();
  });
  afterAll(() => tdb.drop());

  it('a restarted connector neither loses nor repeats updates', async () => {
    const cursors = cursorStore(tdb.db);
    const first = [api.pushUpdate(BOT_TOKEN, update('text')), api.pushUpdate(BOT_TOKEN, update('audio'))];
    const a = start({ cursors });
    await a.connector.start();
    await waitFor(() => expect(a.bus.events).toHaveLength(2));
    await waitFor(async () =>
      expect(await cursors.get(CURSOR_CONNECTOR, cursorKey(pollingAccount))).toEqual({
        offset: first[1]! + 1,
      }),
    );
    await a.connector.stop();

    // While the service is down, the client writes twice more.
    const second = [api.pushUpdate(BOT_TOKEN, update('edited')), api.pushUpdate(BOT_TOKEN, update('video'))];
    const before = api.callsOf('getUpdates').length;
    const b = start({ cursors, bus: new RecordingPublisher() });
    await b.connector.start();
    await waitFor(() => expect(b.bus.events).toHaveLength(2));
    await new Promise((r) => setTimeout(r, 200));
    expect(b.bus.events.map((e) => e.meta?.updateId)).toEqual(second);
    const firstIds = new Set(a.bus.events.map((e) => e.id));
    expect(b.bus.events.some((e) => firstIds.has(e.id))).toBe(false);
    expect(api.callsOf('getUpdates')[before]!.params.offset).toBe(first[1]! + 1);
  });

  it('a crash after the cursor write but before Telegram was told: the stored offset skips what was published', async () => {
    const cursors = cursorStore(tdb.db);
    const account = { ...pollingAccount, key: 'crashed' };
    const ids = ['text', 'photo', 'document'].map((n) => api.pushUpdate(BOT_TOKEN, update(n)));
    // The previous process published the first two and stored the cursor, then died before its next
    // getUpdates: Telegram still holds all three.
    await cursors.set(CURSOR_CONNECTOR, cursorKey(account), { offset: ids[1]! + 1 });
    expect(api.pending(BOT_TOKEN)).toEqual(ids);
    const h = start({ cursors, accounts: [account] });
    await h.connector.start();
    await waitFor(() => expect(api.pending(BOT_TOKEN)).toEqual([]));
    expect(h.bus.events.map((e) => e.meta?.updateId)).toEqual([ids[2]]);
  });
});

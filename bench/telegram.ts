import { randomInt, randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import type { TelegramAccount } from '../channels/messengers.js';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import { upsertMessengerAccount } from '../crm-core/repositories/messenger-account.repository.js';
import { TelegramApiServer } from '../test/support/vendors/telegram-api.js';
import { CommittedMessages } from './committed-messages.js';
import {
  BROKERS,
  type ChildService,
  guarded,
  PG_URL,
  removeBenchTraces,
  spawnChild,
} from './service-process.js';
import { int, ms, sleep } from './stats.js';
import { atLeast, type TargetCheck } from './targets.js';

/**
 * Inbound Telegram messages end to end on Kafka + PostgreSQL (ROLE=all, a fresh schema and topics), counted when
 * the router has committed them (their rows in messages). 70 % come from Telegram users never seen before.
 *  1. Webhook mode: Bot API Updates (Telegram's documented `message` shape) POSTed over real HTTP with the
 *     secret token, one update per request as Telegram sends them.
 *  2. Polling mode: the service long-polls a local Bot API server (test/support/vendors/telegram-api.ts) that
 *     holds a backlog of updates, as after a restart or an outage: getUpdates batches of 100, each published as
 *     one bus call, the offset stored after each.
 * Prints figures; never asserts.
 */
const SECRET = 'bench-telegram-secret_0123456789';
const POLL_TOKEN = '700000001:bench-poll-bot-token';
const HOOK: TelegramAccount = {
  vendor: 'telegram',
  key: 'bench-tg',
  name: 'Bench bot',
  active: true,
  botToken: '700000000:bench-hook-bot-token',
  webhookSecret: SECRET,
  mode: 'webhook',
};
const POLL: TelegramAccount = { ...HOOK, key: 'bench-tg-poll', botToken: POLL_TOKEN, mode: 'polling' };
delete POLL.webhookSecret;

class Updates {
  private readonly known: number[] = [];
  private n = 0;
  constructor(private readonly base: number) {}
  private userId(): number {
    if (this.known.length > 100 && randomInt(0, 10) < 3) return this.known[randomInt(0, this.known.length)]!;
    const id = this.base + randomInt(0, 1_000_000_000);
    if (this.known.length < 50_000) this.known.push(id);
    return id;
  }
  /** An Update without update_id (the polling server numbers its own). */
  next(): Record<string, unknown> {
    const id = this.userId();
    const n = ++this.n;
    return {
      message: {
        message_id: n,
        from: {
          id,
          is_bot: false,
          first_name: 'Client',
          last_name: String(id).slice(-4),
          language_code: 'ru',
        },
        chat: { id, first_name: 'Client', type: 'private' },
        date: Math.floor(Date.now() / 1000),
        text: `Hello, is delivery available? (${n})`,
      },
    };
  }
}

/** Waits until `target` more messages are committed; seconds since `start`, NaN after 120 s. */
async function untilCommitted(committed: CommittedMessages, target: number, start: number): Promise<number> {
  const deadline = Date.now() + 120_000;
  while ((await committed.count()) < target) {
    if (Date.now() > deadline) return Number.NaN;
    await sleep(250); // each count reads the phase's rows: polled gently
  }
  return (Date.now() - start) / 1_000;
}

async function webhookPhase(svc: ChildService, pool: pg.Pool, o: { connections: number; seconds: number }) {
  const gen = new Updates(1_000_000_000);
  let updateId = 0;
  const committed = await CommittedMessages.start(pool);
  const start = Date.now();
  const result = await autocannon({
    url: svc.url,
    connections: o.connections,
    duration: o.seconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: `/v1/messengers/telegram/${HOOK.key}`,
        setupRequest: (req) => ({
          ...req,
          headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
          body: JSON.stringify({ update_id: ++updateId, ...gen.next() }),
        }),
      },
    ],
  });
  const accepted = result['2xx'];
  return {
    accepted,
    failed: result.non2xx + result.errors + result.timeouts,
    endToEndSec: await untilCommitted(committed, accepted, start),
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

async function pollingPhase(api: TelegramApiServer, pool: pg.Pool, backlog: number) {
  const gen = new Updates(3_000_000_000);
  const committed = await CommittedMessages.start(pool);
  const start = Date.now();
  for (let i = 0; i < backlog; i++) api.pushUpdate(POLL_TOKEN, gen.next());
  const endToEndSec = await untilCommitted(committed, backlog, start);
  return { endToEndSec, polls: api.callsOf('getUpdates').length };
}

export async function runTelegramBench(
  opts: { quick?: boolean; log?: (l: string) => void } = {},
): Promise<{ rows: { metric: string; value: string }[]; targets?: TargetCheck[] }> {
  const log = opts.log ?? (() => {});
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const schema = `bench_tg_${id}`;
  const prefix = `bench-tg-${id}-`;
  const u = new URL(PG_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const schemaUrl = u.toString();
  const adminPg = new pg.Client({ connectionString: PG_URL });
  try {
    await adminPg.connect();
  } catch (e) {
    return { rows: [{ metric: 'skipped', value: `PostgreSQL unreachable: ${(e as Error).message}` }] };
  }
  await adminPg.query(`CREATE SCHEMA ${schema}`);
  const pool = new pg.Pool({ connectionString: schemaUrl, max: 2 });
  const api = await TelegramApiServer.start();
  api.addBot(POLL_TOKEN, 'bench_poll_bot');
  let svc: ChildService | undefined;
  const seconds = opts.quick ? 8 : 20;
  const backlog = opts.quick ? 5_000 : 20_000;
  return guarded(
    async () => {
      const db = createPgDatabase({ connectionString: schemaUrl, max: 1 });
      await migrate(db);
      await upsertMessengerAccount(db, HOOK);
      await upsertMessengerAccount(db, POLL);
      await db.close();
      log(`telegram: starting the service (ROLE=all, schema ${schema}, topics ${prefix}*)`);
      svc = await spawnChild({
        ROLE: 'all',
        DATABASE_URL: schemaUrl,
        KAFKA_BROKERS: BROKERS.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_GROUP_ID: 'router',
        ADMIN_TOKEN: 'bench-admin-token-0123456789',
        DEMO_SEED: 'true',
        LOG_LEVEL: 'warn',
        TELEGRAM_API_URL: api.url,
      });
      log('telegram: webhook warm-up 5 s');
      await webhookPhase(svc, pool, { connections: 16, seconds: 5 });
      log(`telegram: webhook, one update per request, 64 connections, ${seconds} s`);
      const hook = await webhookPhase(svc, pool, { connections: 64, seconds });
      log(`telegram: polling, a backlog of ${int(backlog)} updates`);
      const poll = await pollingPhase(api, pool, backlog);
      const rate = (n: number, sec: number) =>
        Number.isNaN(sec) ? 'not all committed within 120 s' : `${int(n / sec)} msg/s`;
      return {
        targets: [
          atLeast(
            'Telegram webhook end to end',
            hook.accepted / hook.endToEndSec,
            2_000,
            (v) => `${int(v)} msg/s`,
          ),
          atLeast(
            'Telegram long polling end to end',
            backlog / poll.endToEndSec,
            2_000,
            (v) => `${int(v)} msg/s`,
          ),
        ],
        rows: [
          {
            metric: 'inbound messages/s end to end, webhook updates with the secret token (64 connections)',
            value: rate(hook.accepted, hook.endToEndSec),
          },
          { metric: '  webhook answer p50 / p99', value: `${ms(hook.p50)} / ${ms(hook.p99)}` },
          {
            metric: '  updates accepted / failed requests',
            value: `${int(hook.accepted)} / ${int(hook.failed)}`,
          },
          {
            metric: `inbound messages/s end to end, long polling a backlog of ${int(backlog)} (getUpdates, 100 per batch)`,
            value: rate(backlog, poll.endToEndSec),
          },
        ],
      };
    },
    async () => {
      await svc?.stop();
      await api.close();
      await pool.end().catch(() => {});
      await removeBenchTraces({ prefix, schema, adminPg });
    },
  );
}

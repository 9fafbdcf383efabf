import { randomInt, randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import type { WhatsAppAccount } from '../channels/messengers.js';
import { migrate } from '../crm-core/db/migrate.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import { upsertMessengerAccount } from '../crm-core/repositories/messenger-account.repository.js';
import { hmacSha256Hex } from '../lib/credentials.js';
import { type MetaGraphServer, startMetaGraphServer } from '../test/support/vendors/meta-graph-api.js';
import { CommittedMessages } from './committed-messages.js';
import { CpuMeter, cpuMsPer } from './cpu.js';
import { replyPhase } from './messenger-replies.js';
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

/** Issue 8 and 11: messenger webhooks end to end. */
const TARGET_MESSAGES_PER_SEC = 2_000;

/**
 * Inbound WhatsApp messages end to end: signed Cloud API webhooks (Meta's documented `messages` shape) posted
 * over real HTTP to the service (ROLE=all, Kafka + PostgreSQL, a fresh schema and topics), until the router has
 * committed every accepted message (its row in messages). 70 % of messages come from numbers never seen before.
 * Two phases: one message per delivery, and deliveries of ten messages (Meta batches under load; one bus call
 * each), first on one process (ROLE=all), then on the production shape (ROLE=connectors and ROLE=router
 * processes, the same schema and topics). Prints figures; never asserts.
 */
const ACCOUNT: WhatsAppAccount = {
  vendor: 'whatsapp',
  key: 'bench-wa',
  name: 'Bench WhatsApp',
  active: true,
  phoneNumberId: '106540352242922',
  accessToken: 'bench-token',
  appSecret: 'bench-app-secret-0123456789',
  verifyToken: 'bench-verify',
};

const ADMIN_TOKEN = 'bench-admin-token-0123456789';

class Deliveries {
  private readonly known: string[] = [];
  private n = 0;
  constructor(private readonly perDelivery: number) {}

  private waId(): string {
    if (this.known.length > 100 && randomInt(0, 10) < 3) return this.known[randomInt(0, this.known.length)]!;
    const id = `7916${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
    if (this.known.length < 50_000) this.known.push(id);
    return id;
  }

  next(): { body: string; headers: Record<string, string> } {
    const ts = String(Math.floor(Date.now() / 1000));
    const messages = [];
    const contacts = [];
    for (let i = 0; i < this.perDelivery; i++) {
      const from = this.waId();
      contacts.push({ profile: { name: `Client ${from.slice(-4)}` }, wa_id: from });
      messages.push({
        from,
        id: `wamid.BENCH${randomUUID().replaceAll('-', '')}`,
        timestamp: ts,
        type: 'text',
        text: { body: `Hello, is delivery available? (${this.n++})` },
      });
    }
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '102290129340398',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550783881', phone_number_id: ACCOUNT.phoneNumberId },
                contacts,
                messages,
              },
            },
          ],
        },
      ],
    });
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': `sha256=${hmacSha256Hex(ACCOUNT.appSecret, body)}`,
      },
    };
  }
}

interface PhaseResult {
  deliveries: number;
  messages: number;
  failed: number;
  sendSec: number;
  /** From the first request until the router committed the last accepted message. */
  endToEndSec: number;
  p50: number;
  p99: number;
  /** CPU ms per message of each service process, from the first request until the last message committed. */
  cpu: { name: string; ms: number }[];
}

async function phase(
  svc: ChildService,
  pool: pg.Pool,
  o: { perDelivery: number; connections: number; seconds: number },
  processes: { name: string; pid: number }[] = [],
): Promise<PhaseResult> {
  const gen = new Deliveries(o.perDelivery);
  const committed = await CommittedMessages.start(pool);
  // Service processes only: PostgreSQL and Kafka are shared with other users of the machine here.
  const meter = new CpuMeter(
    () => processes.map((p) => p.pid),
    async () => [],
  );
  await meter.begin();
  const start = Date.now();
  const result = await autocannon({
    url: svc.url,
    connections: o.connections,
    duration: o.seconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: `/v1/messengers/whatsapp/${ACCOUNT.key}`,
        setupRequest: (req) => ({ ...req, ...gen.next() }),
      },
    ],
  });
  const sentAt = Date.now();
  const deliveries = result['2xx'];
  const messages = deliveries * o.perDelivery;
  const deadline = sentAt + 120_000;
  let done = await committed.count();
  while (done < messages && Date.now() < deadline) {
    await sleep(250); // each count reads the phase's rows: polled gently, ±0.25 s on a phase of a minute
    done = await committed.count();
  }
  const c = await meter.end();
  const cpu = processes.map((p) => ({ name: p.name, ms: cpuMsPer(c, done, c.servicePids.get(p.pid) ?? 0) }));
  return {
    cpu,
    deliveries,
    messages,
    failed: result.non2xx + result.errors + result.timeouts,
    sendSec: (sentAt - start) / 1_000,
    endToEndSec: done >= messages ? (Date.now() - start) / 1_000 : Number.NaN,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

export async function runWhatsAppBench(
  opts: { quick?: boolean; log?: (l: string) => void } = {},
): Promise<{ rows: { metric: string; value: string }[]; targets?: TargetCheck[] }> {
  const log = opts.log ?? (() => {});
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const schema = `bench_wa_${id}`;
  const prefix = `bench-wa-${id}-`;
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
  let svc: ChildService | undefined;
  let router: ChildService | undefined;
  let graph: MetaGraphServer | undefined;
  const seconds = opts.quick ? 8 : 20;
  return guarded(
    async () => {
      const db = createPgDatabase({ connectionString: schemaUrl, max: 1 });
      await migrate(db);
      await upsertMessengerAccount(db, ACCOUNT);
      await db.close();
      const env = (role: string, seed: boolean) => ({
        ROLE: role,
        DATABASE_URL: schemaUrl,
        KAFKA_BROKERS: BROKERS.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_GROUP_ID: 'router',
        ADMIN_TOKEN,
        DEMO_SEED: String(seed),
        LOG_LEVEL: 'warn',
      });
      const rate = (r: PhaseResult) =>
        Number.isNaN(r.endToEndSec)
          ? 'not all committed within 120 s'
          : `${int(r.messages / r.endToEndSec)} msg/s`;
      const rows: { metric: string; value: string }[] = [];
      const targets: TargetCheck[] = [];
      const perSec = (r: PhaseResult) => r.messages / r.endToEndSec;
      /** Warm-up, then one message per delivery and ten per delivery, against `http`. */
      const phases = async (http: ChildService, shape: string, procs: { name: string; pid: number }[]) => {
        log(`whatsapp (${shape}): warm-up 5 s`);
        await phase(http, pool, { perDelivery: 1, connections: 16, seconds: 5 });
        log(`whatsapp (${shape}): one message per delivery, 64 connections, ${seconds} s`);
        const one = await phase(http, pool, { perDelivery: 1, connections: 64, seconds }, procs);
        log(`whatsapp (${shape}): ten messages per delivery, 16 connections, ${seconds} s`);
        const ten = await phase(http, pool, { perDelivery: 10, connections: 16, seconds }, procs);
        for (const [r, per, conns] of [
          [one, 1, 64],
          [ten, 10, 16],
        ] as const) {
          const check = atLeast(
            `WhatsApp webhooks end to end, ${shape}, ${per} per webhook`,
            perSec(r),
            TARGET_MESSAGES_PER_SEC,
            (v) => `${int(v)} msg/s`,
          );
          // Not all committed within the wait is below the target, not "not measured".
          targets.push(Number.isNaN(r.endToEndSec) ? { ...check, measured: rate(r), met: false } : check);
          rows.push(
            {
              metric: `inbound messages/s end to end, ${shape}, ${per} message${per > 1 ? 's' : ''} per signed webhook (${conns} connections)`,
              value: rate(r),
            },
            { metric: '  webhook answer p50 / p99', value: `${ms(r.p50)} / ${ms(r.p99)}` },
            {
              metric: '  messages accepted / failed requests',
              value: `${int(r.messages)} / ${int(r.failed)}`,
            },
            {
              metric:
                '  service CPU per message, first request → last commit (PostgreSQL, Kafka not counted)',
              value: `${r.cpu.map((x) => `${x.name} ${x.ms.toFixed(3)} ms`).join(' + ')} = ${r.cpu
                .reduce((n, x) => n + x.ms, 0)
                .toFixed(3)} ms`,
            },
          );
        }
      };
      // The production shape: connectors and router in processes of their own (docker-compose.yml).
      const splitRoles = async (seed: boolean) => {
        router = await spawnChild(env('router', seed));
        svc = await spawnChild(env('connectors', false));
        await phases(svc, 'split roles', [
          { name: 'connectors', pid: svc.pid },
          { name: 'router', pid: router.pid },
        ]);
        return { rows, targets };
      };
      // BENCH_WHATSAPP_SHAPES=split measures the split roles alone, on a fresh schema (default: all,split).
      const shapes = (process.env.BENCH_WHATSAPP_SHAPES ?? 'all,split').split(',');
      if (!shapes.includes('all')) {
        log(`whatsapp: split roles only (schema ${schema}, topics ${prefix}*)`);
        return splitRoles(true);
      }
      log(`whatsapp: starting the service (ROLE=all, schema ${schema}, topics ${prefix}*)`);
      graph = await startMetaGraphServer({
        tokens: [ACCOUNT.accessToken],
        phoneNumberIds: [ACCOUNT.phoneNumberId],
      });
      svc = await spawnChild({ ...env('all', true), META_GRAPH_API_URL: graph.url });
      await phases(svc, 'one process (ROLE=all)', [{ name: 'service', pid: svc.pid }]);
      // Replies go out from the API role: measured on this process, before the split shape (which has none).
      const replies = opts.quick ? 500 : 2_000;
      const inFlight = Number(process.env.BENCH_REPLY_CONCURRENCY ?? 32);
      log(`whatsapp: ${replies} operator replies, ${inFlight} in flight, to a local Graph API server`);
      const g = graph;
      const r = await replyPhase(svc, pool, {
        adminToken: ADMIN_TOKEN,
        replies,
        concurrency: inFlight,
        vendorCalls: () => g.calls.filter((c) => c.method === 'POST').length,
      });
      rows.push(
        {
          metric: `operator replies delivered/s (API → outbox → vendor API), one process, ${inFlight} in flight`,
          value: Number.isNaN(r.seconds)
            ? 'not all delivered within 60 s'
            : `${int(r.replies / r.seconds)} replies/s`,
        },
        {
          metric: '  reply request p50 / p99 (answers after the first attempt)',
          value: `${ms(r.p50)} / ${ms(r.p99)}`,
        },
        { metric: '  replies delivered / failed requests', value: `${int(r.replies)} / ${int(r.failed)}` },
      );
      await svc.stop();
      svc = undefined;
      log('whatsapp: starting two processes (ROLE=router, ROLE=connectors) on the same schema and topics');
      return splitRoles(false);
    },
    async () => {
      await svc?.stop();
      await router?.stop();
      await graph?.close();
      await pool.end().catch(() => {});
      await removeBenchTraces({ prefix, schema, adminPg });
    },
  );
}

import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { seedDemo } from '../../app/demo-seed.js';
import { type Service, startService } from '../../app/service.js';
import { TOPIC_DEAD_LETTER, TOPIC_INBOUND } from '../../bus/bus.js';
import type { Database } from '../../crm-core/db/database.js';
import { createPgDatabase } from '../../crm-core/db/pg.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import { isRetriable } from '../../lib/errors.js';
import { createLogger } from '../../lib/logger.js';
import { RetriesExhaustedError } from '../../lib/retry.js';
import { createRouter, type Router } from '../../router/router.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { callEvent, formEvent } from '../support/events.js';
import { kafkaPgEnv } from '../support/service-env.js';
import { KAFKA_BROKERS, kafkaAvailable, pgAvailable } from '../support/services.js';

/**
 * The one-lead rule under real concurrency: several routers, each in its own connection pool (as separate
 * processes would be), see different contacts of the same new clients at the same time. Whatever the
 * interleaving, every client must end up as exactly one lead holding all its identities and all its activities.
 */
const pgUp = await pgAvailable();
const kafkaUp = pgUp && (await kafkaAvailable());
// Discarded unless TEST_LOG_LEVEL is set: some components set their own level on child loggers.
const logger = process.env.TEST_LOG_LEVEL
  ? createLogger({ level: process.env.TEST_LOG_LEVEL })
  : createLogger({ level: 'silent' }, { write: () => {} });

/** Counts the routers' "retrying batch" debug lines: proof that the rounds really raced, not just ran. */
const retried = { batches: 0, identityRaces: 0 };
const routerLogger = createLogger(
  { level: 'debug' },
  {
    write(line: string) {
      if (!line.includes('retrying batch')) return;
      retried.batches++;
      if (line.includes('IDENTITY_RACE') || line.includes('created concurrently')) retried.identityRaces++;
    },
  },
);

/** Area codes: Moscow (495, 499), Saint Petersburg (812) and one without a region (383, Novosibirsk). */
const AREAS = ['495', '812', '499', '383'];

/** The same national number written the ways people and PBXs write it; all normalise to +7XXXXXXXXXX. */
function formats(area: string, sub: string): string[] {
  const [a, b, c] = [sub.slice(0, 3), sub.slice(3, 5), sub.slice(5, 7)];
  return [
    `+7 (${area}) ${a}-${b}-${c}`,
    `8 ${area} ${a} ${b} ${c}`,
    `8${area}${sub}`,
    `+7${area}${sub}`,
    `7-${area}-${a}-${b}-${c}`,
    `8 (${area}) ${sub}`,
  ];
}

interface Client {
  phone: string; // E.164, as stored
  email: string;
  form: InboundContact;
  call: InboundContact;
  missed: boolean;
}

/** N new clients, each with a web form (phone + e-mail) and a call from the same phone in another format. */
function makeClients(n: number, round: number, tag: string): Client[] {
  return Array.from({ length: n }, (_, i) => {
    const area = AREAS[i % AREAS.length]!;
    const sub = String(1_000_000 + round * 100_000 + i).slice(-7);
    const f = formats(area, sub);
    const missed = i % 3 !== 0;
    return {
      phone: `+7${area}${sub}`,
      email: `client-${tag}-${round}-${i}@example.com`,
      form: formEvent({
        phone: f[i % f.length]!,
        email: `Client-${tag}-${round}-${i}@Example.com`,
        name: `Client ${i}`,
        region: area === '495' ? 'Moscow' : undefined,
      }),
      call: callEvent({
        from: f[(i + 1) % f.length]!,
        status: missed ? 'missed' : 'answered',
        talkSec: missed ? undefined : 75,
      }),
      missed,
    };
  });
}

function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function rows<R>(db: Database, sql: string, params: unknown[] = []): Promise<R[]> {
  return (await db.query<R>(sql, params)).rows;
}

/** What every round must leave behind, checked from the database alone. */
async function expectOneLeadPerClient(db: Database, clients: Client[]) {
  const phones = clients.map((c) => c.phone);
  const emails = clients.map((c) => c.email);
  const ids = await rows<{ kind: string; value: string; owner_type: string; owner_id: number }>(
    db,
    `SELECT kind, value, owner_type, owner_id FROM identities
      WHERE (kind = 'phone' AND value = ANY($1::text[])) OR (kind = 'email' AND value = ANY($2::text[]))`,
    [phones, emails],
  );
  const owner = new Map(ids.map((r) => [`${r.kind}:${r.value}`, r]));
  expect(ids).toHaveLength(2 * clients.length); // (kind, value) is unique: one row, so one owner, each
  const leadOf = clients.map((c) => {
    const p = owner.get(`phone:${c.phone}`);
    const e = owner.get(`email:${c.email}`);
    expect(p?.owner_type, c.phone).toBe('lead');
    expect(e?.owner_id, `${c.email} and ${c.phone} belong to one lead`).toBe(p?.owner_id);
    return p!.owner_id;
  });
  expect(new Set(leadOf).size).toBe(clients.length); // no two clients share a lead

  // Exactly N leads were made for these clients: each lead's first event is one of theirs, and no other lead exists.
  const eventIds = clients.flatMap((c) => [c.form.id, c.call.id]);
  const leads = await rows<{ id: number; responsible_id: number | null }>(
    db,
    'SELECT id, responsible_id FROM leads WHERE first_event_id = ANY($1::uuid[])',
    [eventIds],
  );
  expect(leads).toHaveLength(clients.length);
  expect(new Set(leads.map((l) => l.id))).toEqual(new Set(leadOf));
  expect(leads.every((l) => l.responsible_id != null)).toBe(true);

  // Every event processed once, with its activity on its client's lead.
  const acts = await rows<{
    event_id: string;
    type: string;
    state: string;
    owner_type: string;
    owner_id: number;
  }>(
    db,
    'SELECT event_id, type, state, owner_type, owner_id FROM activities WHERE event_id = ANY($1::uuid[])',
    [eventIds],
  );
  const byEvent = new Map<string, typeof acts>();
  for (const a of acts) byEvent.set(a.event_id, [...(byEvent.get(a.event_id) ?? []), a]);
  clients.forEach((c, i) => {
    const form = byEvent.get(c.form.id) ?? [];
    const call = byEvent.get(c.call.id) ?? [];
    expect(form.map((a) => a.type)).toEqual(['form']);
    expect(call.filter((a) => a.type === 'call')).toHaveLength(1);
    expect(call.filter((a) => a.type === 'callback' && a.state === 'planned')).toHaveLength(c.missed ? 1 : 0);
    for (const a of [...form, ...call])
      expect({ type: a.owner_type, id: a.owner_id }).toEqual({ type: 'lead', id: leadOf[i] });
  });
  const processed = await rows<{ n: number }>(
    db,
    'SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::uuid[]) AND activity_id IS NOT NULL',
    [eventIds],
  );
  expect(processed[0]!.n).toBe(eventIds.length);

  // Duplicate candidates: every client's identities agree, so a race must never leave any behind.
  const leadIds = [...new Set(leadOf)];
  const dups = await rows<{ chosen_id: number; other_id: number }>(
    db,
    `SELECT chosen_id, other_id FROM duplicate_candidates
      WHERE (chosen_type = 'lead' AND chosen_id = ANY($1::int[])) OR (other_type = 'lead' AND other_id = ANY($1::int[]))`,
    [leadIds],
  );
  expect(dups).toEqual([]);
}

/** What the bus does with a router that gave up on retriable errors: deliver the batch again, later. */
async function handleLikeTheBus(router: Router, batch: InboundContact[], stats: { redeliveries: number }) {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await router.handle(batch);
      expect(r.failed).toEqual([]);
      return;
    } catch (err) {
      const retriable = isRetriable(err) || (err instanceof RetriesExhaustedError && isRetriable(err.cause));
      if (!retriable || attempt >= 5) throw err;
      stats.redeliveries++;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

describe.skipIf(!pgUp)('one lead per client: two routers, two connection pools, one schema', () => {
  let t: TestDatabase;
  const pools: Database[] = [];
  let routers: Router[];

  beforeAll(async () => {
    t = await createTestPg();
    await seedDemo(t.db);
    for (let i = 0; i < 2; i++) pools.push(createPgDatabase({ connectionString: t.url!, max: 4 }));
    routers = pools.map((db) =>
      createRouter({ db, logger: routerLogger, callbackDeadlineMin: 30, meaningfulCallSec: 60 }),
    );
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
    await t?.drop();
  });

  const N = 200;
  for (const round of [1, 2, 3]) {
    it(`round ${round}: forms on router A, calls on router B, at once -> exactly ${N} leads`, async () => {
      const clients = makeClients(N, round, 'ab');
      const stats = { redeliveries: 0 };
      // Different orders on each side, so both routers insert overlapping identities in clashing orders.
      await Promise.all([
        handleLikeTheBus(
          routers[0]!,
          shuffle(
            clients.map((c) => c.form),
            round,
          ),
          stats,
        ),
        handleLikeTheBus(
          routers[1]!,
          shuffle(
            clients.map((c) => c.call),
            round * 7 + 1,
          ),
          stats,
        ),
      ]);
      await expectOneLeadPerClient(t.db, clients);
    });
  }

  it('mixed and split batches: each router gets forms of half the clients and calls of the other half', async () => {
    const clients = makeClients(N, 4, 'mix');
    const half = N / 2;
    const a = [...clients.slice(0, half).map((c) => c.form), ...clients.slice(half).map((c) => c.call)];
    const b = [...clients.slice(0, half).map((c) => c.call), ...clients.slice(half).map((c) => c.form)];
    const chunks = (xs: InboundContact[], size: number) =>
      Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));
    const stats = { redeliveries: 0 };
    // Small batches in a loop on each side, so the two routers' transactions interleave many times.
    await Promise.all([
      (async () => {
        for (const batch of chunks(shuffle(a, 11), 25)) await handleLikeTheBus(routers[0]!, batch, stats);
      })(),
      (async () => {
        for (const batch of chunks(shuffle(b, 13), 40)) await handleLikeTheBus(routers[1]!, batch, stats);
      })(),
    ]);
    await expectOneLeadPerClient(t.db, clients);
  });

  it('the rounds above really raced: some batches lost an identity race and were retried', () => {
    expect(retried.identityRaces).toBeGreaterThan(0);
  });

  it('redelivery of everything to the other router changes nothing', async () => {
    const clients = makeClients(50, 5, 'redo');
    const stats = { redeliveries: 0 };
    await Promise.all([
      handleLikeTheBus(
        routers[0]!,
        clients.map((c) => c.form),
        stats,
      ),
      handleLikeTheBus(
        routers[1]!,
        clients.map((c) => c.call),
        stats,
      ),
    ]);
    const count = async () =>
      (await rows<{ n: number }>(t.db, 'SELECT count(*)::int AS n FROM activities'))[0]!.n;
    const before = await count();
    await Promise.all([
      handleLikeTheBus(
        routers[1]!,
        clients.map((c) => c.form),
        stats,
      ),
      handleLikeTheBus(
        routers[0]!,
        clients.map((c) => c.call),
        stats,
      ),
    ]);
    expect(await count()).toBe(before);
    await expectOneLeadPerClient(t.db, clients);
  });
});

describe.skipIf(!kafkaUp)(
  'one lead per client through Kafka: two router processes in one consumer group',
  () => {
    const PARTITIONS = 6;
    const prefix = `t-onelead-${randomUUID().slice(0, 8)}-`;
    const topic = prefix + TOPIC_INBOUND;
    const kafka = new kafkajs.Kafka({
      clientId: 'one-lead-test',
      brokers: KAFKA_BROKERS,
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    let t: TestDatabase;
    const services: Service[] = [];

    const routerService = () =>
      startService(
        loadConfig(
          kafkaPgEnv(t.url!, prefix, {
            ROLE: 'router',
            DATABASE_POOL_MAX: '4',
            KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
            ROUTER_BATCH_SIZE: '50',
            ADMIN_TOKEN: 'test-admin-token-0123456789',
            DEMO_SEED: 'false',
          }),
        ),
        logger,
      );

    /** Events this router instance committed, from its own /metrics. */
    const routedBy = async (s: Service) => {
      const text = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
      return text
        .split('\n')
        .filter((l) => l.startsWith('router_events_total{'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    };

    beforeAll(async () => {
      t = await createTestPg();
      await seedDemo(t.db);
      await admin.connect();
      await producer.connect();
      services.push(await routerService());
      services.push(await routerService());
      // Both members in the group (and so each owning some partitions) before anything is sent.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const { groups } = await admin.describeGroups([prefix + 'router']);
        if (groups[0]?.state === 'Stable' && groups[0].members.length === 2) break;
        if (Date.now() > deadline)
          throw new Error(`consumer group not stable with 2 members: ${JSON.stringify(groups[0]?.state)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }, 90_000);

    afterAll(async () => {
      for (const s of services) await s.close().catch(() => {});
      await producer.disconnect().catch(() => {});
      await admin.deleteGroups([prefix + 'router']).catch(() => {});
      await admin.deleteTopics({ topics: [topic, prefix + TOPIC_DEAD_LETTER] }).catch(() => {});
      await admin.disconnect().catch(() => {});
      await t?.drop();
    }, 60_000);

    it('events of one client on different partitions (different keys) still make exactly one lead', async () => {
      const N = 150;
      const all: Client[] = [];
      for (const round of [1, 2]) {
        const clients = makeClients(N, 10 + round, 'kafka');
        all.push(...clients);
        // The form goes to partition p, the call to p + 3: different parity, so a different group member under
        // kafkajs' round-robin assignment. Keys differ too: the call is keyed by its external call id.
        const messages = clients.flatMap((c, i) => [
          { partition: i % PARTITIONS, key: `phone:${c.phone}`, value: JSON.stringify(c.form) },
          {
            partition: (i + 3) % PARTITIONS,
            key: `call:${c.call.content.call?.externalCallId}`,
            value: JSON.stringify(c.call),
          },
        ]);
        await producer.send({ topic, acks: -1, messages });
      }
      const ids = all.flatMap((c) => [c.form.id, c.call.id]);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [r] = await rows<{ n: number }>(
          t.db,
          'SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::uuid[])',
          [ids],
        );
        if (r!.n === ids.length) break;
        if (Date.now() > deadline) throw new Error(`only ${r!.n} of ${ids.length} events routed in time`);
        await new Promise((res) => setTimeout(res, 200));
      }
      await expectOneLeadPerClient(t.db, all);
      // Both router processes did part of the work (otherwise this test would prove nothing about concurrency).
      const counts = await Promise.all(services.map(routedBy));
      expect(
        counts.every((n) => n > 0),
        `routed per instance: ${counts.join(', ')}`,
      ).toBe(true);
      expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(ids.length);
      // Nothing was dead-lettered.
      const dlq = await admin.fetchTopicOffsets(prefix + TOPIC_DEAD_LETTER);
      expect(dlq.reduce((n, p) => n + Number(p.high), 0)).toBe(0);
    }, 120_000);
  },
);

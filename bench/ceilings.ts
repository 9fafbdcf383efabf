import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { seedDemo } from '../app/demo-seed.js';
import type { Database, Queryable } from '../crm-core/db/database.js';
import { createPgDatabase } from '../crm-core/db/pg.js';
import { partitionKey } from '../event/inbound-contact.js';
import { createLogger } from '../lib/logger.js';
import { createRouter } from '../router/router.js';
import { eventFor } from './events.js';
import { RequestMix } from './mix.js';
import { guarded, spawnChild } from './service-process.js';

/** Raw ceilings of the pieces the service is made of, measured on this machine in the same run. */

export interface FastifyCeiling {
  requestsPerSec: number;
  p50: number;
  p99: number;
}

/** A bare Fastify POST route in its own process, hit by the same generator and connection count as the service. */
export async function fastifyCeiling(o: {
  connections: number;
  durationSec: number;
}): Promise<FastifyCeiling> {
  const server = await spawnChild({}, { entry: 'bench/empty-server.ts', readyPath: '/healthz' });
  try {
    const body = new RequestMix(1).next().body;
    const r = await autocannon({
      url: server.url,
      connections: o.connections,
      duration: o.durationSec,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body,
      requests: [{ method: 'POST', path: '/v1/forms/demo' }],
    });
    return { requestsPerSec: r['2xx'] / r.duration, p50: r.latency.p50, p99: r.latency.p99 };
  } finally {
    await server.stop();
  }
}

export interface KafkaCeiling {
  messagesPerSec: number;
  mbPerSec: number;
  avgMessageBytes: number;
  batchMs: number;
}

/**
 * kafkajs produce ceiling with the bus' producer settings (idempotent, one request in flight, acks -1) and
 * real event payloads, 500 messages per sendBatch, back to back, on a topic with the service's 6 partitions.
 */
export async function kafkaProduceCeiling(o: {
  brokers: string[];
  durationSec: number;
}): Promise<KafkaCeiling> {
  const kafka = new kafkajs.Kafka({
    clientId: 'bench',
    brokers: o.brokers,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const topic = `bench-${randomUUID().slice(0, 8)}-produce`;
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
  });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  return guarded(
    async () => {
      await producer.connect();
      const mix = new RequestMix(0.7);
      const pool = Array.from({ length: 2_000 }, () => {
        const e = eventFor(mix.next());
        return { key: partitionKey(e), value: JSON.stringify(e) };
      });
      const avgMessageBytes = pool.reduce((n, m) => n + m.value.length + m.key.length, 0) / pool.length;
      let sent = 0;
      let batches = 0;
      const start = Date.now();
      const end = start + o.durationSec * 1000;
      while (Date.now() < end) {
        const messages = Array.from({ length: 500 }, (_, i) => pool[(sent + i) % pool.length]!);
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
        sent += messages.length;
        batches++;
      }
      const secs = (Date.now() - start) / 1000;
      return {
        messagesPerSec: sent / secs,
        mbPerSec: (sent * avgMessageBytes) / secs / 1e6,
        avgMessageBytes,
        batchMs: (secs * 1000) / batches,
      };
    },
    async () => {
      await producer.disconnect().catch(() => {});
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect().catch(() => {});
    },
  );
}

export interface PgCeiling {
  /** rows/s with one connection, statement after statement (each its own transaction). */
  rowsPerSec1: number;
  /** rows/s with four connections at once (the router handles up to four partitions concurrently). */
  rowsPerSec4: number;
  statementMs: number;
}

/** PostgreSQL ceiling: INSERT ... SELECT FROM unnest(...) of 500 activity-like rows per statement. */
export async function pgInsertCeiling(o: { schemaUrl: string; durationSec: number }): Promise<PgCeiling> {
  const pool = new pg.Pool({ connectionString: o.schemaUrl, max: 4 });
  try {
    await pool.query(`CREATE TABLE bench_insert (
      id bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, owner_type text NOT NULL, owner_id integer,
      body text, details jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now())`);
    const insert = () => {
      const ids = Array.from({ length: 500 }, () => randomUUID());
      return pool.query(
        `INSERT INTO bench_insert (event_id, owner_type, owner_id, body, details)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::jsonb[])`,
        [
          ids,
          ids.map(() => 'lead'),
          ids.map((_, i) => i),
          ids.map(() => 'Hello! I would like to know more about your offer. Please call me back.'),
          ids.map(() => '{"meaningful":false,"source":"bench"}'),
        ],
      );
    };
    const run = async (workers: number, secs: number) => {
      let rows = 0;
      let statements = 0;
      const start = Date.now();
      const end = start + secs * 1000;
      await Promise.all(
        Array.from({ length: workers }, async () => {
          while (Date.now() < end) {
            await insert();
            rows += 500;
            statements++;
          }
        }),
      );
      const elapsed = (Date.now() - start) / 1000;
      return { rowsPerSec: rows / elapsed, statementMs: (elapsed * 1000 * workers) / statements };
    };
    await run(1, 0.5); // warm-up
    const one = await run(1, o.durationSec / 2);
    const four = await run(4, o.durationSec / 2);
    return { rowsPerSec1: one.rowsPerSec, rowsPerSec4: four.rowsPerSec, statementMs: one.statementMs };
  } finally {
    await pool.end();
  }
}

export interface StatementStat {
  sql: string;
  calls: number;
  ms: number;
}

export interface RouterCeiling {
  batchSize: number;
  eventsPerSec: number;
  batchMs: number;
  /** Statements per batch transaction (plus BEGIN and COMMIT). */
  statementsPerBatch: number;
  /** Share of the batch time spent waiting on statements. */
  dbShare: number;
  top: StatementStat[];
}

/** Times every statement a router transaction runs, by the statement's first words. */
export function instrument(db: Database, stats: Map<string, StatementStat>): Database {
  const wrap = (q: Queryable): Queryable => ({
    async query(text, params) {
      const t = performance.now();
      try {
        return await q.query(text, params);
      } finally {
        const sql = text.replace(/\s+/g, ' ').trim().slice(0, 60);
        const s = stats.get(sql) ?? { sql, calls: 0, ms: 0 };
        s.calls++;
        s.ms += performance.now() - t;
        stats.set(sql, s);
      }
    },
  });
  return { ...db, transaction: (fn) => db.transaction((tx) => fn(wrap(tx))) };
}

/**
 * The router alone, in this process, on its own schema: events built by the connectors' code, routed in
 * batches of `batchSize` one transaction after another (one partition's worth of work). No HTTP, no Kafka.
 */
export async function routerCeiling(o: {
  schemaUrl: string;
  durationSec: number;
  batchSize: number;
  db: Database;
}): Promise<RouterCeiling> {
  const stats = new Map<string, StatementStat>();
  const db = createPgDatabase({ connectionString: o.schemaUrl, max: 2 });
  try {
    await seedDemo(o.db);
    const router = createRouter({
      db: instrument(db, stats),
      logger: createLogger({ level: 'silent' }),
      callbackDeadlineMin: 30,
      meaningfulCallSec: 60,
    });
    const mix = new RequestMix(0.7);
    const batch = () => Array.from({ length: o.batchSize }, () => eventFor(mix.next()));
    await router.handle(batch()); // warm-up: caches, JIT, first leads
    stats.clear();
    let events = 0;
    let batches = 0;
    let busy = 0;
    const end = Date.now() + o.durationSec * 1000;
    while (Date.now() < end) {
      const b = batch(); // built outside the timed part
      const t = performance.now();
      await router.handle(b);
      busy += performance.now() - t;
      events += b.length;
      batches++;
    }
    const all = [...stats.values()];
    const dbMs = all.reduce((n, s) => n + s.ms, 0);
    return {
      batchSize: o.batchSize,
      eventsPerSec: events / (busy / 1000),
      batchMs: busy / batches,
      statementsPerBatch: all.reduce((n, s) => n + s.calls, 0) / batches,
      dbShare: dbMs / busy,
      top: all
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 6)
        .map((s) => ({ ...s, ms: s.ms / batches, calls: s.calls / batches })),
    };
  } finally {
    await db.close();
  }
}

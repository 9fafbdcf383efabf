import { randomUUID } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { type Service, startService } from '../../app/service.js';
import { TOPIC_DEAD_LETTER, TOPIC_INBOUND } from '../../bus/bus.js';
import { createLogger } from '../../lib/logger.js';
import { ConsoleClient, signIn } from '../support/console-socket.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { dropKafkaTraces, kafkaPgEnv } from '../support/service-env.js';
import { KAFKA_BROKERS, kafkaAvailable, pgAvailable } from '../support/services.js';
import { until } from '../support/until.js';

/**
 * ROLE=all on real Kafka and PostgreSQL routes in a worker thread of its own (app/router-thread.ts): contacts
 * posted over HTTP are routed there, its figures appear on the HTTP thread's /metrics, its console notices reach
 * a console socket served by the HTTP thread, region changes made through the API reach its cache, a worker
 * that dies is started again and routing resumes, and close() drains it and commits its offsets.
 */
const available = (await pgAvailable()) && (await kafkaAvailable());
const logger = createLogger({ level: 'silent' }, { write: () => {} });
const ADMIN_TOKEN = 'router-worker-admin-token-0123';

describe.skipIf(!available)('ROLE=all on Kafka: the router in a worker thread', () => {
  const prefix = `t-rw-${randomUUID().slice(0, 8)}-`;
  const topics = [prefix + TOPIC_INBOUND, prefix + TOPIC_DEAD_LETTER];
  const kafka = new kafkajs.Kafka({ clientId: 'rw-test', brokers: KAFKA_BROKERS, logLevel: 0 });
  const admin = kafka.admin();
  let t: TestDatabase;
  let service: Service;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

  /** A web form from a new client; the phone's area code decides the region before the form's region does. */
  const form = async (name: string, region = 'Moscow', area = '495') => {
    const r = await fetch(new URL('/v1/forms/demo', service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ name, phone: `+7 ${area} ${String(Math.random()).slice(2, 9)}`, region }),
    });
    expect(r.status).toBe(202);
    return ((await r.json()) as { id: string }).id;
  };
  const routed = (ids: string[]) =>
    until(`${ids.length} events routed`, async () => {
      const { rows } = await t.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::uuid[]) AND activity_id IS NOT NULL',
        [ids],
      );
      return rows[0]!.n === ids.length ? true : undefined;
    });
  const metrics = async () => (await fetch(new URL('/metrics', service.url))).text();
  /** The value of one sample of /metrics, by its name and labels as printed. */
  const sample = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  beforeAll(async () => {
    t = await createTestPg();
    await admin.connect();
    const config = loadConfig(
      kafkaPgEnv(t.url!, prefix, {
        ADMIN_TOKEN,
        // NOTIFY is database-wide: a channel of this file's own.
        REALTIME_CHANNEL: `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`,
      }),
    );
    expect(config.routerThread).toBe('worker');
    service = await startService(config, logger);
  }, 90_000);

  afterAll(async () => {
    await service?.close().catch(() => {});
    await dropKafkaTraces(admin, prefix);
    await t?.drop();
  }, 60_000);

  it('routes posted contacts in a worker thread, and /metrics on the HTTP thread counts them', async () => {
    const worker = service.routerThread?.worker;
    expect(worker).toBeDefined();
    expect(worker!.threadId).not.toBe(threadId);

    const ids = [await form('Ivan'), await form('Olga'), await form('Pavel')];
    await routed(ids);

    const text = await until('the worker figures on /metrics', async () => {
      const m = await metrics();
      // Health arrives once a second; counters with every batch.
      return (sample(m, 'bus_consumer_last_commit_timestamp_seconds') ?? 0) > 0 ? m : undefined;
    });
    expect(sample(text, `router_thread_info{mode="worker",thread_id="${worker!.threadId}"}`)).toBe(1);
    expect(sample(text, 'router_events_total{channel="webform",outcome="new_lead"}')).toBe(3);
    expect(sample(text, 'router_event_latency_seconds_count')).toBe(3);
    expect(sample(text, 'router_worker_restarts_total')).toBe(0);
    expect(sample(text, 'bus_consumer_last_commit_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
  });

  it("sends the router's console notices from the worker to a console socket on the HTTP thread", async () => {
    // Vera is the only operator of Saint Petersburg: its contacts are hers.
    const vera = await ConsoleClient.open(service.url, {
      cookie: (await signIn(service.url, 'vera', 'demo-vera')).cookie,
    });
    try {
      await form('Sergey', 'Saint Petersburg', '812');
      await vera.next((f) => f.type === 'work.changed', 15_000);
    } finally {
      vera.close();
    }
  });

  it("reaches the worker's region cache at once when the API changes regions", async () => {
    await routed([await form('Warm-up')]); // the worker has just read the regions: its cache is fresh
    const code = `kzn${randomUUID().slice(0, 6)}`;
    const created = await fetch(new URL('/v1/admin/regions', service.url), {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        code,
        name: 'Kazan',
        priority: 1, // before Moscow (10), whose rules would take the form otherwise
        rules: [{ kind: 'form_region', value: 'Kazan' }],
      }),
    });
    expect(created.status).toBe(201);
    const regionId = ((await created.json()) as { id: number }).id;
    const id = await form('Rustam', 'Kazan', '843');
    await routed([id]);
    const { rows } = await t.db.query<{ region_id: number }>(
      'SELECT l.region_id FROM leads l JOIN activities a ON a.owner_type = $1 AND a.owner_id = l.id WHERE a.event_id = $2',
      ['lead', id],
    );
    expect(rows[0]?.region_id).toBe(regionId);
  });

  it('starts a worker that died again, and routing resumes', async () => {
    const dead = service.routerThread!.worker!;
    await dead.terminate(); // as abrupt as a crash: no drain, no offset commit, the group member just vanishes
    const next = await until('a new router worker', async () => service.routerThread?.worker);
    expect(next.threadId).not.toBe(dead.threadId);
    const ids = [await form('After'), await form('The crash')];
    await routed(ids);
    const text = await metrics();
    expect(sample(text, 'router_worker_restarts_total')).toBe(1);
    expect(sample(text, `router_thread_info{mode="worker",thread_id="${next.threadId}"}`)).toBe(1);
    expect(text).not.toContain(`thread_id="${dead.threadId}"`);
  }, 60_000);

  it('close() drains the worker and commits its offsets before the rest closes', async () => {
    const ids = [await form('Last one'), await form('And another')];
    await routed(ids);
    const worker = service.routerThread!.worker!;
    const exited = new Promise<number>((r) => worker.once('exit', r));
    await service.close();
    expect(await exited).toBe(0); // it ended by itself (a terminate() would give 1)
    const high = await admin.fetchTopicOffsets(topics[0]!);
    const [committed] = await admin.fetchOffsets({ groupId: `${prefix}router`, topics: [topics[0]!] });
    // -1: nothing committed on a partition that never had a message.
    const at = new Map(committed!.partitions.map((p) => [p.partition, Math.max(0, Number(p.offset))]));
    for (const p of high) expect(`${p.partition}:${at.get(p.partition)}`).toBe(`${p.partition}:${p.high}`);
  });
});

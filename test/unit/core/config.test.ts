import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../app/config.js';

describe('loadConfig', () => {
  it('runs the embedded default with nothing configured', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      role: 'all',
      defaultCountry: 'RU',
      formRateLimit: 30,
      trustProxy: false,
      demoSeed: true,
      adminTokenGenerated: true,
    });
    expect(c.kafka).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('reads the production shape and the role flag', () => {
    const c = loadConfig(
      {
        DATABASE_URL: 'postgres://u@db/crm',
        KAFKA_BROKERS: 'k1:9092, k2:9092',
        ADMIN_TOKEN: 'x'.repeat(20),
        TRUST_PROXY: 'true',
      },
      ['--role', 'router'],
    );
    expect(c).toMatchObject({
      role: 'router',
      trustProxy: true,
      demoSeed: false,
      adminTokenGenerated: false,
    });
    expect(c.kafka?.brokers).toEqual(['k1:9092', 'k2:9092']);
  });
  it('fails fast naming every bad variable', () => {
    try {
      loadConfig({ PORT: 'eighty', DEFAULT_COUNTRY: 'russia', FORM_RATE_LIMIT: '0' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as Error).message;
      for (const v of ['PORT', 'DEFAULT_COUNTRY', 'FORM_RATE_LIMIT']) expect(msg).toContain(v);
    }
  });
  it('reads the automation poll interval, refusing one that is not a number of milliseconds in range', () => {
    expect(loadConfig({}).automationPollMs).toBe(1_000);
    expect(loadConfig({ AUTOMATION_POLL_MS: '250' }).automationPollMs).toBe(250);
    for (const bad of ['0', '10', 'soon', '1.5', '3600001'])
      expect(() => loadConfig({ AUTOMATION_POLL_MS: bad }), bad).toThrow(/AUTOMATION_POLL_MS/);
  });
  it('refuses split roles without a real database and bus', () => {
    expect(() => loadConfig({ ROLE: 'router' })).toThrow(/ROLE.*DATABASE_URL and KAFKA_BROKERS/);
  });
  it('runs the router of ROLE=all on Kafka + PostgreSQL in a worker thread, elsewhere on the HTTP thread', () => {
    const prod = { DATABASE_URL: 'postgres://u@db/crm', KAFKA_BROKERS: 'k1:9092' };
    expect(loadConfig(prod).routerThread).toBe('worker');
    expect(loadConfig({ ...prod, ROUTER_THREAD: 'inline' }).routerThread).toBe('inline');
    expect(loadConfig({}).routerThread).toBe('inline');
    expect(loadConfig({ KAFKA_BROKERS: 'k1:9092' }).routerThread).toBe('inline');
    expect(loadConfig({ DATABASE_URL: prod.DATABASE_URL }).routerThread).toBe('inline');
    expect(loadConfig({ ...prod, ROLE: 'router' }).routerThread).toBe('inline');
  });
  it('refuses ROUTER_THREAD=worker where a thread cannot share the database or the bus, naming the variable', () => {
    expect(() => loadConfig({ ROUTER_THREAD: 'worker' })).toThrow(/ROUTER_THREAD: 'worker' needs ROLE=all/);
    expect(() => loadConfig({ KAFKA_BROKERS: 'k1:9092', ROUTER_THREAD: 'worker' })).toThrow(/ROUTER_THREAD/);
    expect(() =>
      loadConfig({
        DATABASE_URL: 'postgres://u@db/crm',
        KAFKA_BROKERS: 'k1:9092',
        ROLE: 'router',
        ROUTER_THREAD: 'worker',
      }),
    ).toThrow(/ROUTER_THREAD/);
    expect(() => loadConfig({ ROUTER_THREAD: 'process' })).toThrow(/ROUTER_THREAD/);
  });
  it('derives min.insync.replicas from the replication factor: min(2, RF)', () => {
    const k = (env: Record<string, string>) => loadConfig({ KAFKA_BROKERS: 'k1:9092', ...env }).kafka;
    expect(k({})).toMatchObject({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(k({ KAFKA_REPLICATION_FACTOR: '2' })).toMatchObject({ minInsyncReplicas: 2 });
    expect(k({ KAFKA_REPLICATION_FACTOR: '3' })).toMatchObject({ minInsyncReplicas: 2 });
    expect(k({ KAFKA_REPLICATION_FACTOR: '5', KAFKA_MIN_INSYNC_REPLICAS: '3' })).toMatchObject({
      minInsyncReplicas: 3,
    });
  });
  it('refuses Kafka settings that let an accepted contact live on one replica of three, naming the variable', () => {
    expect(() =>
      loadConfig({ KAFKA_BROKERS: 'k1:9092', KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '1' }),
    ).toThrow(/KAFKA_MIN_INSYNC_REPLICAS \(1\) with KAFKA_REPLICATION_FACTOR \(3\).*single replica/);
    expect(() =>
      loadConfig({ KAFKA_BROKERS: 'k1:9092', KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_INSYNC_REPLICAS: '3' }),
    ).toThrow(/KAFKA_MIN_INSYNC_REPLICAS.*every write would be refused/);
    expect(() => loadConfig({ KAFKA_BROKERS: 'k1:9092', KAFKA_MIN_INSYNC_REPLICAS: 'two' })).toThrow(
      /KAFKA_MIN_INSYNC_REPLICAS/,
    );
  });
});

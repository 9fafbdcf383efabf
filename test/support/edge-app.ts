import type { FastifyInstance } from 'fastify';
import { createMetrics } from '../../api/metrics.js';
import { buildServer } from '../../api/server.js';
import { type AppConfig, loadConfig } from '../../app/config.js';
import { type DemoSeedResult, seedDemo } from '../../app/demo-seed.js';
import { createTelephonyConnector } from '../../connectors/telephony/index.js';
import { createWebformConnector } from '../../connectors/webform/index.js';
import { channelSettings, cursorStore } from '../../crm-core/repositories/channel-settings.repository.js';
import { createLogger } from '../../lib/logger.js';
import { createMemoryHub } from '../../realtime/memory-hub.js';
import { clientDirectory } from '../../router/client-directory.js';
import { RecordingPublisher } from './connector-doubles.js';
import type { TestDatabase } from './db.js';

export const EDGE_ADMIN_TOKEN = 'edge-admin-token-0123456789';

/**
 * The whole HTTP edge of one process as `npm start` builds it (api/server.ts: API, web forms, telephony webhooks,
 * the one error handler) on a real database with the demo seeded; events go to a recording publisher, and every
 * log line (at debug) is kept, so tests can drive every endpoint and read what was published and logged.
 */
export interface EdgeApp {
  app: FastifyInstance;
  bus: RecordingPublisher;
  config: Readonly<AppConfig>;
  seed: DemoSeedResult;
  /** Raw pino output, one JSON line per entry. */
  logs: string[];
}

export async function buildEdgeApp(t: TestDatabase, env: Record<string, string> = {}): Promise<EdgeApp> {
  const config = loadConfig({
    ADMIN_TOKEN: EDGE_ADMIN_TOKEN,
    DEFAULT_COUNTRY: 'RU',
    PUBLIC_URL: 'https://ingest.example.com',
    ...env,
  });
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const seed = (await seedDemo(t.db))!;
  const bus = new RecordingPublisher();
  const ctx = {
    config,
    logger,
    bus,
    settings: channelSettings(t.db),
    cursors: cursorStore(t.db),
    clients: clientDirectory(t.db, config.defaultCountry),
  };
  const app = await buildServer({
    config,
    logger,
    db: t.db,
    realtime: createMemoryHub(),
    metrics: createMetrics(),
    connectors: [createWebformConnector(ctx), createTelephonyConnector(ctx)],
    api: true,
  });
  await app.ready();
  return { app, bus, config, seed, logs };
}

/** Row count and checksum of every table of the database's current schema: equal before and after = nothing written. */
export async function databaseFingerprint(t: TestDatabase): Promise<Record<string, string>> {
  const tables = await t.db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const out: Record<string, string> = {};
  for (const { name } of tables.rows) {
    const r = await t.db.query<{ n: number; sum: string | null }>(
      `SELECT count(*)::int AS n, md5(string_agg(x::text, ',' ORDER BY x::text)) AS sum FROM "${name}" x`,
    );
    out[name] = `${r.rows[0]!.n}:${r.rows[0]!.sum ?? ''}`;
  }
  return out;
}

import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../api/metrics.js';
import { apiRoutes, apiSecuritySchemes } from '../../../api/routes/index.js';
import { buildServer } from '../../../api/server.js';
import { loadConfig } from '../../../app/config.js';
import { createTelephonyConnector } from '../../../connectors/telephony/index.js';
import { createWebformConnector } from '../../../connectors/webform/index.js';
import { createLogger } from '../../../lib/logger.js';
import { createMemoryHub } from '../../../realtime/memory-hub.js';
import { MemoryChannelSettings, noCursors, RecordingPublisher } from '../../support/connector-doubles.js';
import { createTestPglite, type TestDatabase } from '../../support/db.js';

/** api/server.ts registers @fastify/swagger before this plugin; the schemas must make a valid document. */
describe('API OpenAPI document', () => {
  let t: TestDatabase | undefined;
  // The database is made in the hook (its own, longer timeout): on a loaded machine PGlite start-up alone nears
  // the test timeout.
  beforeAll(async () => {
    t = await createTestPglite();
  });
  afterAll(async () => t?.drop());

  it('documents every route with tags, summary and bearer security', async () => {
    const app = Fastify();
    await app.register(swagger, {
      openapi: { info: { title: 'test', version: '1' }, components: { securitySchemes: apiSecuritySchemes } },
    });
    await app.register(apiRoutes, { db: t!.db, config: loadConfig({ ADMIN_TOKEN: 'x'.repeat(20) }) });
    await app.ready();
    const doc = app.swagger() as {
      paths: Record<string, Record<string, { tags?: string[]; summary?: string; security?: unknown }>>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/clients/lookup',
        '/v1/leads/{id}',
        '/v1/{entity}/{id}/timeline',
        '/v1/admin/mailboxes/{id}',
        '/v1/leads/{id}/status',
        '/v1/leads/{id}/convert',
        '/v1/duplicates',
        '/v1/duplicates/{id}/merge',
        '/v1/duplicates/{id}/dismiss',
        '/v1/activities/{id}/complete',
        '/v1/contacts/{id}/activities',
        '/v1/deals/{id}/stage',
        '/v1/deals/{id}/close',
        '/v1/admin/settings/junk-return',
      ]),
    );
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.tags?.length, `${method} ${path}`).toBeGreaterThan(0);
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        // Signing in is the one operation that needs no credentials.
        const open = method === 'post' && path === '/v1/session';
        expect(op.security, `${method} ${path}`).toEqual(open ? [] : [{ bearer: [] }]);
      }
    }
    await app.close();
    // PGlite migrations plus every route's schema compile: ~10 s on a quiet machine, several times that when
    // the two cores are shared with brokers and other suites.
  }, 180_000);

  it('documents the inbound endpoints with request bodies, and the telephony reads with security', async () => {
    t ??= await createTestPglite();
    const config = loadConfig({ ADMIN_TOKEN: 'x'.repeat(20), LOG_LEVEL: 'silent' });
    const ctx = {
      config,
      logger: createLogger({ level: 'silent' }),
      bus: new RecordingPublisher(),
      settings: new MemoryChannelSettings(),
      cursors: noCursors,
    };
    const app = await buildServer({
      config,
      logger: ctx.logger,
      db: t.db,
      realtime: createMemoryHub(),
      metrics: createMetrics(),
      connectors: [createWebformConnector(ctx), createTelephonyConnector(ctx)],
      api: true,
    });
    await app.ready();
    type Op = {
      requestBody?: { content?: Record<string, { schema?: { properties?: object } }> };
      security?: unknown;
    };
    const doc = app.swagger() as { paths: Record<string, Record<string, Op>> };
    const body = (path: string, type: string) => doc.paths[path]?.post?.requestBody?.content?.[type]?.schema;
    expect(Object.keys(body('/v1/forms/{formKey}', 'application/json')?.properties ?? {})).toContain('phone');
    expect(body('/v1/forms/{formKey}', 'multipart/form-data')).toBeDefined();
    expect(Object.keys(body('/v1/telephony/generic', 'application/json')?.properties ?? {})).toEqual(
      expect.arrayContaining(['line', 'startedAt', 'externalCallId']),
    );
    expect(
      body('/v1/telephony/twilio/{line}', 'application/x-www-form-urlencoded')?.properties,
    ).toHaveProperty('CallSid');
    expect(
      body('/v1/telephony/cti/{line}/{token}', 'application/x-www-form-urlencoded')?.properties,
    ).toHaveProperty('callId');
    expect(doc.paths['/v1/telephony/route']?.get?.security).toEqual([{ lineSecret: [] }]);
    expect(doc.paths['/v1/reports/calls']?.get?.security).toEqual([{ bearer: [] }]);
    await app.close();
  });
});

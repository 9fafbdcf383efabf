import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_LINE_SECRET } from '../../../app/demo-seed.js';
import { apiBackends } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';
import { buildEdgeApp, databaseFingerprint, EDGE_ADMIN_TOKEN, type EdgeApp } from '../../support/edge-app.js';
import { type JsonEndpoint, jsonMutations, type Mutation, unsafeText } from './mutations.js';

/**
 * Generated malformed requests against every public and admin endpoint of the real HTTP server (app.inject), on
 * a real database: never a 5xx, every 4xx in the documented format naming what is wrong, nothing written to the
 * database and nothing published. FUZZ_SEED reproduces a run (the seed is printed); FUZZ_RUNS sets the number
 * of requests per endpoint (default 1,000).
 */
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 1_000);
console.log(`fuzz: seed ${SEED}, ${RUNS} requests per endpoint (FUZZ_SEED=${SEED} reproduces this run)`);

const ADMIN = { authorization: `Bearer ${EDGE_ADMIN_TOKEN}` };
const LINE = { authorization: `Bearer ${DEMO_LINE_SECRET}` };

const admin = (
  name: string,
  method: JsonEndpoint['method'],
  url: string,
  base: Record<string, unknown>,
  fields: JsonEndpoint['fields'],
  required: string[] = [],
): JsonEndpoint => ({ name, method, url, headers: ADMIN, base, fields, required, refusesText: true });

const IMAP = { host: 'imap.example.org', port: 993, secure: true, user: 'u', password: 'p' };
const ENDPOINTS: JsonEndpoint[] = [
  admin(
    'create operator',
    'POST',
    '/v1/admin/operators',
    {
      login: 'fuzz',
      name: 'Fuzz',
      email: 'f@example.org',
      extension: '555',
      status: 'online',
      active: true,
      regionIds: [],
    },
    {
      login: 'string',
      name: 'string',
      email: 'string',
      extension: 'string',
      status: 'enum',
      active: 'bool',
      regionIds: 'array',
    },
    ['login', 'name'],
  ),
  admin(
    'change operator',
    'PATCH',
    '/v1/admin/operators/1',
    { name: 'Anna', active: true, regionIds: [] },
    { name: 'string', active: 'bool', regionIds: 'array', status: 'enum' },
  ),
  admin(
    'create region',
    'POST',
    '/v1/admin/regions',
    { code: 'fz', name: 'Fuzz', strategy: 'round_robin', priority: 1, defaultOperatorId: null, rules: [] },
    {
      code: 'string',
      name: 'string',
      strategy: 'enum',
      priority: 'int',
      defaultOperatorId: 'nullableInt',
      rules: 'array',
    },
    ['code', 'name'],
  ),
  admin(
    'change region',
    'PATCH',
    '/v1/admin/regions/1',
    { name: 'Moscow', priority: 10 },
    { name: 'string', priority: 'int', strategy: 'enum', rules: 'array' },
  ),
  admin(
    'put form',
    'PUT',
    '/v1/admin/forms/fuzz',
    { name: 'Fuzz', fieldMap: {}, allowedOrigins: [], honeypotField: 'hp', regionId: null, active: true },
    {
      name: 'string',
      fieldMap: 'object',
      allowedOrigins: 'array',
      honeypotField: 'string',
      regionId: 'nullableInt',
      active: 'bool',
    },
    ['name'],
  ),
  admin(
    'put telephony line',
    'PUT',
    '/v1/admin/telephony-lines/fuzz',
    {
      name: 'Fuzz',
      secret: 's'.repeat(20),
      source: 'x',
      options: {},
      createLeadOnOutbound: false,
      active: true,
    },
    {
      name: 'string',
      secret: 'string',
      source: 'string',
      options: 'object',
      createLeadOnOutbound: 'bool',
      active: 'bool',
      regionId: 'nullableInt',
    },
    ['name'],
  ),
  admin(
    'create mailbox',
    'POST',
    '/v1/admin/mailboxes',
    {
      name: 'Fuzz',
      address: 'fuzz@example.org',
      imap: IMAP,
      folders: ['INBOX'],
      syncSince: '2026-11-01T00:00:00Z',
      attachmentMaxBytes: 1000,
      active: true,
    },
    {
      name: 'string',
      address: 'string',
      imap: 'object',
      'imap.port': 'int',
      'imap.host': 'string',
      'imap.password': 'string',
      folders: 'array',
      syncSince: 'date',
      attachmentMaxBytes: 'int',
      active: 'bool',
    },
    ['name', 'address', 'imap'],
  ),
  admin(
    'automation rule',
    'POST',
    '/v1/admin/automation-rules',
    {
      name: 'Price requests',
      kind: 'condition',
      conditions: { channels: ['whatsapp'], keywords: ['price'], regionIds: [1] },
      action: { type: 'task', subject: 'Send the price list', deadlineMinutes: 30 },
      active: true,
    },
    {
      name: 'string',
      kind: 'enum',
      conditions: 'object',
      'conditions.channels': 'array',
      'conditions.keywords': 'array',
      'conditions.regionIds': 'array',
      action: 'object',
      'action.type': 'enum',
      'action.subject': 'string',
      'action.deadlineMinutes': 'int',
      active: 'bool',
    },
    ['name', 'kind', 'conditions', 'action'],
  ),
  admin(
    'default operator',
    'PUT',
    '/v1/admin/settings/default-operator',
    { operatorId: null },
    { operatorId: 'nullableInt' },
    ['operatorId'],
  ),
  {
    name: 'telephony generic',
    method: 'POST',
    url: '/v1/telephony/generic',
    headers: LINE,
    base: {
      line: 'demo',
      direction: 'inbound',
      from: '+74951234567',
      to: '+74950000000',
      startedAt: '2026-11-23T10:00:00Z',
      duration: 0,
      status: 'missed',
      externalCallId: 'fuzz-1',
    },
    fields: {
      line: 'string',
      direction: 'enum',
      from: 'string',
      to: 'string',
      startedAt: 'date',
      duration: 'int',
      status: 'enum',
      externalCallId: 'string',
    },
    required: ['line', 'direction', 'startedAt', 'status', 'externalCallId'],
    refusesText: false,
  },
];

/** Requests that no mutation of a valid body describes: webhooks whose answer depends on credentials first. */
const form = 'application/x-www-form-urlencoded';
const noise = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 6 }).map((k) => `x_${k}`),
  fc.oneof(fc.string({ maxLength: 30 }), unsafeText),
  { maxKeys: 4 },
);
const asForm = (p: Record<string, string>) => new URLSearchParams(p).toString();
const RAW_ENDPOINTS: {
  name: string;
  method: 'POST' | 'GET';
  url: string;
  gen: fc.Arbitrary<Mutation & { headers?: Record<string, string>; status?: number[] }>;
}[] = [
  {
    // No phone, email or telegram (noise keys never match a field name): 422 naming all three, or a broken body.
    name: 'web form',
    method: 'POST',
    url: '/v1/forms/demo',
    gen: fc.oneof(
      fc.tuple(noise, fc.boolean()).map(([n, json]) => ({
        kind: 'no contact',
        payload: json ? JSON.stringify({ name: 'Ivan', ...n }) : asForm({ name: 'Ivan', ...n }),
        contentType: json ? 'application/json' : form,
        field: 'phone',
        status: [422],
      })),
      // At least 201 visible characters: a random string can be all spaces or control characters, which are
      // trimmed or removed before the length is judged.
      fc.string({ maxLength: 200 }).map((tail) => ({
        kind: 'too long',
        payload: asForm({ name: `${'N'.repeat(201)}${tail}`, phone: '+74951234567' }),
        contentType: form,
        field: 'name',
      })),
      fc.string({ maxLength: 50 }).map((s) => ({
        kind: 'not multipart',
        payload: `${s}x`,
        contentType: 'multipart/form-data; boundary=b',
        field: 'body',
      })),
      fc.string({ maxLength: 50 }).map((s) => ({
        kind: 'truncated JSON',
        payload: `{"phone":"${s.replace(/["\\]/g, '')}`,
        contentType: 'application/json',
        field: 'body',
      })),
      fc.constantFrom('text/plain', 'application/xml').map((contentType) => ({
        kind: 'media type',
        payload: 'phone=1',
        contentType,
        field: 'content-type',
      })),
    ),
  },
  ...[
    'twilio/demo',
    'freeswitch/demo',
    'cti/demo/wrong-secret-000000',
    'bitrix24/demo/wrong/telephony.externalcall.register',
    'generic',
  ].map((path) => ({
    // Without valid credentials anything at all is 401, the same for an unknown line.
    name: `telephony ${path.split('/')[0]} unauthenticated`,
    method: 'POST' as const,
    url: `/v1/telephony/${path}`,
    gen: fc
      .tuple(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          unsafeText,
          noise.map(asForm),
          noise.map((n) => JSON.stringify({ line: 'demo', ...n })),
        ),
        fc.constantFrom(form, 'application/json', 'text/plain'),
      )
      .map(([payload, contentType]) => ({
        kind: 'no credentials',
        payload,
        contentType,
        headers: { authorization: 'Bearer wrong-secret-000000' },
        // The generic endpoint names its line in the body: a body it cannot read is 400 before any line is known.
        status: path === 'generic' ? [400, 401] : [401],
      })),
  })),
  {
    name: 'telephony cti',
    method: 'POST',
    url: `/v1/telephony/cti/demo/${DEMO_LINE_SECRET}`,
    gen: noise.map((n) => ({
      kind: 'no event',
      payload: asForm({ direction: 'in', callId: 'c1', ...n, event: 'x' }),
      contentType: form,
      field: 'event',
    })),
  },
  {
    name: 'telephony bitrix24',
    method: 'POST',
    url: `/v1/telephony/bitrix24/demo/${DEMO_LINE_SECRET}/telephony.externalcall.register`,
    gen: noise.map((n) => ({
      kind: 'no phone',
      payload: asForm({ TYPE: '2', USER_PHONE_INNER: '101', ...n }),
      contentType: form,
      field: 'PHONE_NUMBER',
    })),
  },
  {
    name: 'telephony freeswitch',
    method: 'POST',
    url: '/v1/telephony/freeswitch/demo',
    gen: fc
      .oneof(
        fc.string({ maxLength: 100 }),
        fc.json().filter((j) => !j.startsWith('{')),
      )
      .map((payload) => ({
        kind: 'not a CDR',
        payload,
        contentType: 'application/json',
        headers: { authorization: `Basic ${Buffer.from(`demo:${DEMO_LINE_SECRET}`).toString('base64')}` },
        field: 'cdr',
      })),
  },
];

for (const backend of await apiBackends()) {
  // One backend is enough for the edge; PostgreSQL when it is there (CI), else PGlite.
  if (!backend.available || (backend.name === 'PGlite' && (await apiBackends())[1]!.available)) continue;
  describe(`fuzz on ${backend.name}`, () => {
    let t: TestDatabase;
    let e: EdgeApp;
    let before: Record<string, string>;
    beforeAll(async () => {
      t = await backend.make();
      e = await buildEdgeApp(t, { FORM_RATE_LIMIT: '1000000' });
      before = await databaseFingerprint(t);
    });
    afterAll(async () => {
      await e?.app.close();
      await t?.drop();
    });

    async function check(
      method: string,
      url: string,
      m: Mutation & { headers?: Record<string, string>; status?: number[] },
      headers: Record<string, string>,
    ) {
      const res = await e.app.inject({
        method: method as 'POST',
        url,
        headers: { ...headers, ...m.headers, 'content-type': m.contentType ?? 'application/json' },
        payload: m.payload,
      });
      const what = `${m.kind}: ${res.statusCode} ${res.body.slice(0, 300)}`;
      expect(res.statusCode, what).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, what).toBeLessThan(500);
      if (m.status) expect(m.status, what).toContain(res.statusCode);
      const error = res.json().error;
      expect(error, what).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      if (m.field) {
        expect(error.fields?.[0], what).toBeDefined();
        expect(error.fields[0] === m.field || error.fields[0].startsWith(`${m.field}.`), what).toBe(true);
      }
    }

    for (const ep of ENDPOINTS) {
      it(`${ep.name}: ${RUNS} malformed requests, each a 4xx naming what is wrong`, async () => {
        await fc.assert(
          fc.asyncProperty(jsonMutations(ep), (m) => check(ep.method, ep.url, m, ep.headers)),
          { seed: SEED, numRuns: RUNS },
        );
      });
    }
    for (const ep of RAW_ENDPOINTS) {
      it(`${ep.name}: ${RUNS} malformed requests, each a 4xx`, async () => {
        await fc.assert(
          fc.asyncProperty(ep.gen, (m) => check(ep.method, ep.url, m, {})),
          { seed: SEED, numRuns: RUNS },
        );
      });
    }

    it('over-limit bodies are 413 on every endpoint, and afterwards the database and the bus are untouched', async () => {
      const huge = `{"name":"${'x'.repeat(26 * 1024 * 1024)}"}`;
      for (const [url, headers] of [
        ['/v1/admin/operators', ADMIN],
        ['/v1/forms/demo', {}],
        ['/v1/telephony/generic', LINE],
      ] as const) {
        const res = await e.app.inject({
          method: 'POST',
          url,
          headers: { ...headers, 'content-type': 'application/json' },
          payload: huge,
        });
        expect(res.statusCode, url).toBe(413);
        expect(res.json().error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', fields: ['body'] });
      }
      expect(await databaseFingerprint(t)).toEqual(before);
      expect(e.bus.events).toEqual([]);
    });
  });
}

import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../../../api/auth.js';
import { createMetrics } from '../../../api/metrics.js';
import { buildServer } from '../../../api/server.js';
import { seedDemo } from '../../../app/demo-seed.js';
import { createLogger } from '../../../lib/logger.js';
import { createMessengerOutbox } from '../../../outbound/messengers/outbox.js';
import { createMemoryHub } from '../../../realtime/memory-hub.js';
import { ADMIN_TOKEN, admin, apiBackends, bearer } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';

/**
 * Walks every GET route of the API (enumerated from the server's own OpenAPI document, so a route added without
 * a rule here fails this test) with each role, and asserts exactly what each one sees:
 * anna (operator, Moscow, signed in with a cookie), vera (operator, Saint Petersburg, token), sofia (supervisor,
 * Moscow, token), the admin token, and adam (operator with the admin role, token).
 */
type Who = 'anna' | 'vera' | 'sofia' | 'admin' | 'adam';
const WHO: Who[] = ['anna', 'vera', 'sofia', 'admin', 'adam'];

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`visibility of every read endpoint on ${backend.name}`, () => {
    let t: TestDatabase;
    let app: FastifyInstance;
    const headers = {} as Record<Who, Record<string, string>>;
    const ops: Record<string, number> = {};
    // Fixture ids: A anna's (Moscow), B boris's (Moscow), Q unassigned Moscow, V vera's (SPb), S unassigned SPb.
    const lead: Record<string, number> = {};
    const contact: Record<string, number> = {};
    const company: Record<string, number> = {};
    const deal: Record<string, number> = {};
    const activity: Record<string, number> = {};
    const conversation: Record<string, number> = {};

    beforeAll(async () => {
      t = await backend.make();
      const seed = (await seedDemo(t.db))!;
      for (const o of seed.operators) ops[o.login] = o.id;
      const tokens = Object.fromEntries(seed.operators.map((o) => [o.login, o.token]));
      const logger = createLogger({ level: 'silent' });
      const nowhere = 'http://127.0.0.1:9';
      app = await buildServer({
        config: { adminToken: ADMIN_TOKEN, defaultCountry: 'RU', trustProxy: false },
        logger,
        db: t.db,
        realtime: createMemoryHub(),
        metrics: createMetrics(),
        connectors: [],
        api: true,
        // Never started: only its routes are wanted here (nothing is sent by a GET).
        messengerOutbox: createMessengerOutbox({
          db: t.db,
          logger,
          urls: { telegram: nowhere, meta: nowhere, vk: nowhere, viber: nowhere },
        }),
      });
      await app.ready();
      const regions = (await t.db.query<{ id: number; code: string }>('SELECT id, code FROM regions')).rows;
      const msk = regions.find((r) => r.code === 'msk')!.id;
      const spb = regions.find((r) => r.code === 'spb')!.id;
      const create = async (login: string, role: string, regionIds: number[]) => {
        const r = await app.inject({
          method: 'POST',
          url: '/v1/admin/operators',
          headers: admin,
          payload: { login, name: login, role, regionIds, password: `${login} password` },
        });
        expect(r.statusCode, r.body).toBe(201);
        ops[login] = r.json().operator.id;
        return r.json().token as string;
      };
      headers.sofia = bearer(await create('sofia', 'supervisor', [msk]));
      headers.adam = bearer(await create('adam', 'admin', []));
      headers.vera = bearer(tokens.vera!);
      headers.admin = admin;
      await app.inject({
        method: 'PATCH',
        url: `/v1/admin/operators/${ops.anna}`,
        headers: admin,
        payload: { password: 'anna password' },
      });
      const signIn = await app.inject({
        method: 'POST',
        url: '/v1/session',
        payload: { login: 'anna', password: 'anna password' },
      });
      expect(signIn.statusCode).toBe(200);
      headers.anna = {
        cookie: `ci_session=${signIn.cookies[0]!.value}`,
        [CSRF_HEADER]: signIn.json().csrfToken,
      };

      const fixture: [string, number | null, number][] = [
        ['A', ops.anna!, msk],
        ['B', ops.boris!, msk],
        ['Q', null, msk],
        ['V', ops.vera!, spb],
        ['S', null, spb],
      ];
      for (const [k, resp, region] of fixture) {
        const one = async (sql: string, params: unknown[]) =>
          (await t.db.query<{ id: number }>(sql, params)).rows[0]!.id;
        company[k] = await one(
          'INSERT INTO companies (name, responsible_id, region_id) VALUES ($1, $2, $3) RETURNING id',
          [`Company ${k}`, resp, region],
        );
        contact[k] = await one(
          'INSERT INTO contacts (name, responsible_id, region_id, company_id) VALUES ($1, $2, $3, $4) RETURNING id',
          [`Contact ${k}`, resp, region, company[k]],
        );
        lead[k] = await one(
          `INSERT INTO leads (title, name, responsible_id, region_id, assignment_reason, channel, source_type, source_key, first_event_id)
           VALUES ($1, $1, $2, $3, 'test', 'phone', 'line', 'demo', $4) RETURNING id`,
          [`Lead ${k}`, resp, region, randomUUID()],
        );
        deal[k] = await one(
          'INSERT INTO deals (title, contact_id, responsible_id) VALUES ($1, $2, $3) RETURNING id',
          [`Deal ${k}`, contact[k], resp],
        );
        activity[k] = await one(
          `INSERT INTO activities (owner_type, owner_id, type, state, responsible_id, channel)
           VALUES ('lead', $1, 'call', 'completed', $2, 'phone') RETURNING id`,
          [lead[k], resp],
        );
        await t.db.query(
          `INSERT INTO identities (kind, value, owner_type, owner_id) VALUES ('phone', $1, 'lead', $2)`,
          [`+7495000000${'ABQVS'.indexOf(k)}`, lead[k]],
        );
      }
      for (const k of ['A', 'V']) {
        conversation[k] = (
          await t.db.query<{ id: number }>(
            `INSERT INTO conversations (activity_id, channel, account_key, chat_id, owner_type, owner_id, opened_at, last_message_at)
             VALUES ($1, 'telegram', 'bot', $2, 'lead', $3, now(), now()) RETURNING id`,
            [activity[k], `chat-${k}`, lead[k]],
          )
        ).rows[0]!.id;
      }
      activity.queue = (
        await t.db.query<{ id: number }>(
          `INSERT INTO activities (owner_type, owner_id, type, state, channel) VALUES ('queue', NULL, 'call', 'completed', 'phone') RETURNING id`,
        )
      ).rows[0]!.id;
    }, 120_000);
    afterAll(async () => {
      await app?.close();
      await t?.drop();
    });

    /** Which fixture clients each role sees (deals follow their contact's region). */
    const SEES: Record<Who, string[]> = {
      anna: ['A', 'Q'],
      vera: ['V', 'S'],
      sofia: ['A', 'B', 'Q'],
      admin: ['A', 'B', 'Q', 'V', 'S'],
      adam: ['A', 'B', 'Q', 'V', 'S'],
    };
    const KEYS = ['A', 'B', 'Q', 'V', 'S'];
    const dup: Record<string, number> = {};
    const get = (who: Who, url: string) => app.inject({ method: 'GET', url, headers: headers[who] });
    const ids = (items: { id: number }[], of: Record<string, number>) =>
      KEYS.filter((k) => items.some((i) => i.id === of[k]));

    /** By id: visible ones 200, the others 404 exactly like an id that does not exist. */
    async function byId(who: Who, url: (id: number) => string, of: Record<string, number>) {
      for (const k of KEYS) {
        const r = await get(who, url(of[k]!));
        const visible = SEES[who].includes(k);
        expect(r.statusCode, `${who} ${url(of[k]!)}`).toBe(visible ? 200 : 404);
        if (!visible) {
          const missing = await get('admin', url(999_999));
          expect(r.json().error.code).toBe(missing.json().error.code);
        }
      }
    }
    const adminOnly = (url: string) => async (who: Who) => {
      const r = await get(who, url);
      expect(r.statusCode, `${who} ${url} ${r.body}`).toBe(who === 'admin' || who === 'adam' ? 200 : 403);
    };
    const ALL = ['Moscow', 'Saint Petersburg'];
    const reportSeeded = { done: false };
    const from = encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString());
    const to = encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString());

    /** One rule per GET route; the key is the OpenAPI path. */
    const RULES: Record<string, (who: Who) => Promise<void>> = {
      '/v1/leads': async (who) => {
        const r = await get(who, '/v1/leads?limit=500');
        expect(ids(r.json().items, lead), who).toEqual(SEES[who]);
      },
      '/v1/leads/{id}': (who) => byId(who, (id) => `/v1/leads/${id}`, lead),
      '/v1/deals': async (who) => {
        const r = await get(who, '/v1/deals?limit=500');
        expect(ids(r.json().items, deal), who).toEqual(SEES[who]);
      },
      '/v1/deals/{id}': (who) => byId(who, (id) => `/v1/deals/${id}`, deal),
      '/v1/duplicates': async (who) => {
        // One candidate per fixture client (its lead and its contact): a pair is listed with either entity.
        if (!dup.A) {
          for (const k of KEYS) {
            dup[k] = (
              await t.db.query<{ id: number }>(
                `INSERT INTO duplicate_candidates (event_id, chosen_type, chosen_id, other_type, other_id,
                   identity_kind, identity_value) VALUES (gen_random_uuid(), 'lead', $1, 'contact', $2, 'phone', $3)
                 RETURNING id`,
                [lead[k], contact[k], `+7900000000${KEYS.indexOf(k)}`],
              )
            ).rows[0]!.id;
          }
        }
        const r = await get(who, '/v1/duplicates?state=all&limit=100');
        expect(r.statusCode, `${who} ${r.body}`).toBe(200);
        expect(ids(r.json().items, dup), who).toEqual(SEES[who]);
      },
      '/v1/contacts/{id}': (who) => byId(who, (id) => `/v1/contacts/${id}`, contact),
      '/v1/companies/{id}': (who) => byId(who, (id) => `/v1/companies/${id}`, company),
      '/v1/{entity}/{id}/timeline': async (who) => {
        await byId(who, (id) => `/v1/leads/${id}/timeline`, lead);
        await byId(who, (id) => `/v1/contacts/${id}/timeline`, contact);
        await byId(who, (id) => `/v1/companies/${id}/timeline`, company);
        await byId(who, (id) => `/v1/deals/${id}/timeline`, deal);
        const tl = await get(who, `/v1/leads/${lead.A}/timeline`);
        if (SEES[who].includes('A'))
          expect(tl.json().items.map((i: { id: number }) => i.id)).toEqual([activity.A]);
      },
      '/v1/activities': async (who) => {
        const r = await get(who, '/v1/activities?limit=500');
        const items = r.json().items as { id: number }[];
        expect(ids(items, activity), who).toEqual(SEES[who]);
        const queue = items.some((i) => i.id === activity.queue);
        expect(queue, `${who} queue`).toBe(who !== 'anna' && who !== 'vera');
      },
      '/v1/clients/lookup': async (who) => {
        for (const k of KEYS) {
          const r = await get(
            who,
            `/v1/clients/lookup?phone=${encodeURIComponent(`+7495000000${KEYS.indexOf(k)}`)}`,
          );
          expect(r.statusCode).toBe(200);
          const visible = SEES[who].includes(k);
          expect(r.json().found, `${who} lookup ${k}`).toBe(visible);
          if (visible) expect(r.json().entityId).toBe(lead[k]);
          else expect(r.json()).toEqual({ found: false });
        }
      },
      '/v1/operators/me/counters': async (who) => {
        // Operators always get their own counters, whatever operatorId they name.
        const r = await get(who, `/v1/operators/me/counters?operatorId=${ops.boris}`);
        expect(r.statusCode).toBe(200);
        const own = { anna: ops.anna, vera: ops.vera, sofia: ops.sofia, adam: ops.adam, admin: ops.boris }[
          who
        ];
        expect(r.json().operatorId).toBe(own);
      },
      '/v1/me': async (who) => {
        const r = await get(who, '/v1/me');
        expect(r.statusCode).toBe(200);
        const role = {
          anna: 'operator',
          vera: 'operator',
          sofia: 'supervisor',
          admin: 'admin',
          adam: 'admin',
        }[who];
        expect(r.json().role).toBe(role);
        expect(r.json().operator?.id ?? null).toBe(who === 'admin' ? null : ops[who]);
      },
      // The list is "my conversations" (the activity's responsible); the admin token lists everyone's.
      '/v1/conversations': async (who) => {
        const r = await get(who, '/v1/conversations?limit=500');
        expect(r.statusCode).toBe(200);
        const mine = { anna: ['A'], vera: ['V'], sofia: [], admin: ['A', 'V'], adam: [] }[who];
        expect(ids(r.json().items, conversation), who).toEqual(mine);
      },
      '/v1/conversations/{id}': async (who) => {
        for (const k of ['A', 'V']) {
          const r = await get(who, `/v1/conversations/${conversation[k]}`);
          expect(r.statusCode, `${who} conversation ${k}`).toBe(SEES[who].includes(k) ? 200 : 404);
        }
      },
      '/v1/conversations/{id}/messages/{messageId}/attachments/{n}': async (who) => {
        for (const k of ['A', 'V']) {
          const r = await get(who, `/v1/conversations/${conversation[k]}/messages/1/attachments/0`);
          expect(r.statusCode).toBe(404);
          // A hidden conversation is refused before its messages are looked at.
          expect(r.json().error.fields, `${who} ${k}`).toEqual(
            SEES[who].includes(k) ? ['messageId'] : ['id'],
          );
        }
      },
      '/v1/reports/calls': adminOnly(`/v1/reports/calls?from=${from}&to=${to}`),
      // Admins and supervisors; a supervisor's rows are their regions' (reports.test.ts checks the figures).
      '/v1/reports/leads': async (who) => {
        const r = await get(who, `/v1/reports/leads?from=${from}&to=${to}&groupBy=region`);
        const regions = { anna: null, vera: null, sofia: ['Moscow'], admin: ALL, adam: ALL }[who];
        expect(r.statusCode, `${who} ${r.body}`).toBe(regions ? 200 : 403);
        if (regions)
          expect(
            r
              .json()
              .rows.map((x: { label: string }) => x.label)
              .sort(),
            who,
          ).toEqual(regions);
      },
      '/v1/reports/operators': async (who) => {
        // One inbound form per fixture contact (not on the leads: their timeline is checked), handled by its responsible (A anna, B boris, V vera, Q/S nobody).
        if (!reportSeeded.done) {
          reportSeeded.done = true;
          await t.db.query(
            `INSERT INTO activities (owner_type, owner_id, type, direction, state, responsible_id)
             SELECT 'contact', id, 'form', 'inbound', 'completed', responsible_id FROM contacts WHERE id = ANY($1::int[])`,
            [Object.values(contact)],
          );
        }
        const r = await get(who, `/v1/reports/operators?from=${from}&to=${to}`);
        const seen = { anna: null, vera: null, sofia: [ops.anna, ops.boris], admin: null, adam: null }[who];
        expect(r.statusCode, `${who} ${r.body}`).toBe(who === 'anna' || who === 'vera' ? 403 : 200);
        if (r.statusCode !== 200) return;
        const ids = r.json().rows.map((x: { operatorId: number | null }) => x.operatorId);
        expect(ids, who).toEqual(seen ?? [ops.anna, ops.boris, ops.vera, null]);
      },
      // The PBX's question is answered to a line secret only; no person's credentials open it.
      '/v1/telephony/route': async (who) => {
        const r = await get(who, '/v1/telephony/route?from=%2B74950000000&line=demo');
        expect(r.statusCode).toBe(401);
      },
      '/v1/admin/operators': adminOnly('/v1/admin/operators'),
      '/v1/admin/operators/{id}': adminOnly('/v1/admin/operators/1'),
      '/v1/admin/regions': adminOnly('/v1/admin/regions'),
      '/v1/admin/regions/{id}': adminOnly('/v1/admin/regions/1'),
      '/v1/admin/settings/default-operator': adminOnly('/v1/admin/settings/default-operator'),
      '/v1/console/work': async (who) => {
        // The console's work list follows the same rule: own + the region's queue, supervisors their regions.
        const r = await get(who, '/v1/console/work');
        expect(r.statusCode, r.body).toBe(200);
        const items = r.json().items as { kind: string; id: number; queued: boolean }[];
        const of = (kind: string) => items.filter((i) => i.kind === kind);
        expect(ids(of('lead'), lead), who).toEqual(SEES[who]);
        const queued = ids(
          of('lead').filter((i) => i.queued),
          lead,
        );
        expect(queued, who).toEqual(SEES[who].filter((k) => k === 'Q' || k === 'S'));
        const conversations = { anna: ['A'], vera: ['V'], sofia: ['A'], admin: ['A', 'V'], adam: ['A', 'V'] };
        expect(ids(of('conversation'), conversation), who).toEqual(conversations[who]);
        expect(r.json().counters === null, who).toBe(who === 'admin');
      },
      '/v1/canned-answers': async (who) => {
        const r = await get(who, '/v1/canned-answers');
        expect(r.statusCode, r.body).toBe(200);
      },
      '/v1/admin/canned-answers': adminOnly('/v1/admin/canned-answers'),
      '/v1/admin/forms': adminOnly('/v1/admin/forms'),
      '/v1/admin/forms/{key}': adminOnly('/v1/admin/forms/demo'),
      '/v1/admin/telephony-lines': adminOnly('/v1/admin/telephony-lines'),
      '/v1/admin/telephony-lines/{key}': adminOnly('/v1/admin/telephony-lines/demo'),
      '/v1/admin/mailboxes': adminOnly('/v1/admin/mailboxes'),
      '/v1/admin/messengers': adminOnly('/v1/admin/messengers'),
      '/v1/admin/stores': adminOnly('/v1/admin/stores'),
      '/v1/admin/widgets': adminOnly('/v1/admin/widgets'),
      '/v1/admin/widgets/{key}': async (who) => {
        const r = await get(who, '/v1/admin/widgets/none');
        expect(r.statusCode).toBe(who === 'admin' || who === 'adam' ? 404 : 403);
      },
      '/v1/admin/settings/junk-return': adminOnly('/v1/admin/settings/junk-return'),
      '/v1/admin/automation-rules': adminOnly('/v1/admin/automation-rules'),
      '/v1/admin/automation-rules/{id}': async (who) => {
        const r = await get(who, '/v1/admin/automation-rules/999999');
        expect(r.statusCode).toBe(who === 'admin' || who === 'adam' ? 404 : 403);
      },
      '/v1/admin/stores/{key}': async (who) => {
        const r = await get(who, '/v1/admin/stores/none');
        expect(r.statusCode).toBe(who === 'admin' || who === 'adam' ? 404 : 403);
      },
      '/v1/admin/messengers/{key}': async (who) => {
        const r = await get(who, '/v1/admin/messengers/none');
        expect(r.statusCode).toBe(who === 'admin' || who === 'adam' ? 404 : 403);
      },
      '/v1/admin/mailboxes/{id}': async (who) => {
        // No mailbox exists: the admin learns that, everybody else is refused (403) before that.
        const r = await get(who, '/v1/admin/mailboxes/1');
        expect(r.statusCode).toBe(who === 'admin' || who === 'adam' ? 404 : 403);
      },
    };

    it('has a rule for every GET route the server registers', () => {
      const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
      const reads = Object.entries(doc.paths)
        .filter(([path, ops]) => path.startsWith('/v1/') && 'get' in ops)
        .map(([path]) => path)
        .sort();
      expect(reads.length).toBeGreaterThan(10);
      expect(Object.keys(RULES).sort()).toEqual(reads);
    });

    for (const who of WHO) {
      it(`walks every read endpoint as ${who}`, async () => {
        for (const rule of Object.values(RULES)) {
          await rule(who);
        }
      }, 60_000);
    }
  });
}

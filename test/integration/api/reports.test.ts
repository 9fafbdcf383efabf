import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTestApp, admin, apiBackends, bearer, buildApiApp } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';
import { callEvent } from '../../support/events.js';
import { expectError } from '../../support/expect-error.js';

/**
 * GET /v1/reports/leads and /v1/reports/operators on a small data set whose figures are worked out by hand
 * (times relative to T0). First responses are written by 017_reports.sql's triggers as the rows go in, the way
 * the router's and the API's writes make them.
 */
const T0 = Date.parse('2026-03-02T09:00:00Z');
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();
const PERIOD = `from=${encodeURIComponent(at(-60))}&to=${encodeURIComponent(at(24 * 60))}`;

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`reports on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    let sofia: Record<string, string>;
    let msk: number;
    let spb: number;
    const get = (url: string, headers: Record<string, string> = admin) =>
      a.app.inject({ method: 'GET', url, headers });
    const one = async (sql: string, params: unknown[]) =>
      (await t.db.query<{ id: number }>(`${sql} RETURNING id`, params)).rows[0]!.id;
    const lead = (p: {
      op: number | null;
      region: number;
      channel: string;
      source: string;
      name: string;
      min: number;
      status?: string;
    }) =>
      one(
        `INSERT INTO leads (title, status, responsible_id, region_id, assignment_reason, channel, source_type, source_key,
                            source_name, first_event_id, created_at)
         VALUES ('lead', $1, $2, $3, 'test', $4, $5, 'demo', $6, $7, $8)`,
        [
          p.status ?? 'new',
          p.op,
          p.region,
          p.channel,
          p.channel === 'phone' ? 'line' : 'form',
          p.name,
          randomUUID(),
          at(p.min),
        ],
      );
    const activity = (p: {
      owner: [string, number];
      type: string;
      direction?: string;
      op: number;
      min: number;
      state?: string;
      deadline?: number;
      details?: object;
    }) =>
      one(
        `INSERT INTO activities (owner_type, owner_id, type, direction, state, responsible_id, deadline, details, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          p.owner[0],
          p.owner[1],
          p.type,
          p.direction ?? null,
          p.state ?? 'completed',
          p.op,
          p.deadline === undefined ? null : at(p.deadline),
          JSON.stringify(p.details ?? {}),
          at(p.min),
        ],
      );
    const complete = (id: number, min: number) =>
      t.db.query(`UPDATE activities SET state = 'completed', completed_at = $2 WHERE id = $1`, [id, at(min)]);

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
      const regions = (await t.db.query<{ id: number; code: string }>('SELECT id, code FROM regions')).rows;
      msk = regions.find((r) => r.code === 'msk')!.id;
      spb = regions.find((r) => r.code === 'spb')!.id;
      const made = await a.app.inject({
        method: 'POST',
        url: '/v1/admin/operators',
        headers: admin,
        payload: {
          login: 'sofia',
          name: 'Sofia',
          role: 'supervisor',
          regionIds: [msk],
          password: 'sofia password',
        },
      });
      expect(made.statusCode, made.body).toBe(201);
      sofia = bearer(made.json().token);
      const { anna, boris, vera } = a.ops as { anna: number; boris: number; vera: number };

      // L1 anna, Moscow, form: answered by an outbound call after 10 min, converted to a contact and a deal after 2 h.
      const l1 = await lead({
        op: anna,
        region: msk,
        channel: 'webform',
        source: 'form',
        name: '=HYPERLINK("x"), spring',
        min: 0,
      });
      const form1 = await activity({
        owner: ['lead', l1],
        type: 'form',
        direction: 'inbound',
        op: anna,
        min: 0,
      });
      await activity({ owner: ['lead', l1], type: 'call', direction: 'outbound', op: anna, min: 10 });
      const c1 = await one(`INSERT INTO contacts (name, responsible_id, region_id) VALUES ('C1', $1, $2)`, [
        anna,
        msk,
      ]);
      const d1 = await one(`INSERT INTO deals (title, contact_id, responsible_id) VALUES ('D1', $1, $2)`, [
        c1,
        anna,
      ]);
      await t.db.query(
        `UPDATE leads SET status = 'converted', converted_contact_id = $2, converted_deal_id = $3, converted_at = $4 WHERE id = $1`,
        [l1, c1, d1, at(120)],
      );
      // ... then an email to the contact, answered after 40 min.
      const mail = await activity({
        owner: ['contact', c1],
        type: 'email',
        direction: 'inbound',
        op: anna,
        min: 240,
      });
      await activity({ owner: ['contact', c1], type: 'email', direction: 'outbound', op: anna, min: 280 });
      // The administrator's email SLA (automation, 016) fired on that email before the answer; the form's timer
      // was resolved before it was due, and a condition rule's firing is no SLA breach.
      const rule = async (kind: string) =>
        // inactive: the router would apply an active one, and this one has no settings
        one(`INSERT INTO automation_rules (name, kind, settings, active) VALUES ($1, $1, '{}', false)`, [
          kind,
        ]);
      const sla = await rule('first_response_sla');
      const timer = (ruleId: number, target: number, firedAt: string | null) =>
        t.db.query(
          `INSERT INTO automation_timers (rule_id, target_type, target_id, due_at, state, fired_at, resolved_at)
           VALUES ($1, 'activity', $2, $3, 'resolved', $4, $3)`,
          [ruleId, target, at(270), firedAt],
        );
      await timer(sla, mail, at(270));
      await timer(sla, form1, null);
      await timer(await rule('condition'), form1, at(1));

      // L2 anna, Moscow, phone: a missed call at +60, its callback (deadline +90) completed at +80.
      const l2 = await lead({
        op: anna,
        region: msk,
        channel: 'phone',
        source: 'line',
        name: 'Demo line',
        min: 60,
      });
      await activity({
        owner: ['lead', l2],
        type: 'call',
        direction: 'inbound',
        op: anna,
        min: 60,
        details: { result: 'missed' },
      });
      const cb2 = await activity({
        owner: ['lead', l2],
        type: 'callback',
        op: anna,
        min: 60,
        state: 'planned',
        deadline: 90,
      });
      await complete(cb2, 80);

      // L3 boris, Moscow, form: never answered, junk; his callbacks: one done late, one still open past its deadline.
      const l3 = await lead({
        op: boris,
        region: msk,
        channel: 'webform',
        source: 'form',
        name: '=HYPERLINK("x"), spring',
        min: 30,
        status: 'junk',
      });
      await activity({ owner: ['lead', l3], type: 'form', direction: 'inbound', op: boris, min: 30 });
      // (his callbacks are another client's: completing a callback is a response, and L3 stays unanswered)
      const late = await activity({
        owner: ['contact', c1],
        type: 'callback',
        op: boris,
        min: 30,
        state: 'planned',
        deadline: 60,
      });
      await complete(late, 120);
      await activity({
        owner: ['contact', c1],
        type: 'callback',
        op: boris,
        min: 30,
        state: 'planned',
        deadline: 60,
      });

      // L4 vera, Saint Petersburg, phone: a call answered after 15 s; a store order made a deal for the lead; a
      // conversation answered 5 minutes after it opened.
      const l4 = await lead({
        op: vera,
        region: spb,
        channel: 'phone',
        source: 'line',
        name: 'Demo line',
        min: 180,
      });
      await activity({
        owner: ['lead', l4],
        type: 'call',
        direction: 'inbound',
        op: vera,
        min: 180,
        details: { result: 'answered', call: { waitSec: 15 } },
      });
      await one(`INSERT INTO deals (title, lead_id, responsible_id) VALUES ('order 1', $1, $2)`, [l4, vera]);
      const m4 = await activity({
        owner: ['lead', l4],
        type: 'message',
        direction: 'inbound',
        op: vera,
        min: 300,
        state: 'planned',
      });
      const conv = await one(
        `INSERT INTO conversations (activity_id, channel, account_key, chat_id, owner_type, owner_id, opened_at, last_message_at)
         VALUES ($1, 'telegram', 'bot', '42', 'lead', $2, $3, $3)`,
        [m4, l4, at(300)],
      );
      for (const [direction, min] of [
        ['inbound', 300],
        ['inbound', 302],
        ['outbound', 305],
        ['outbound', 306],
      ] as const) {
        await t.db.query(
          `INSERT INTO messages (conversation_id, channel, account_key, direction, text, occurred_at)
           VALUES ($1, 'telegram', 'bot', $2, 'hi', $3)`,
          [conv, direction, at(min)],
        );
      }

      // A merged lead is a duplicate of another client: never counted.
      await lead({
        op: anna,
        region: msk,
        channel: 'webform',
        source: 'form',
        name: 'Demo form',
        min: 5,
        status: 'merged',
      });
    });

    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    it('leads by operator: conversion to contact and deal, first response and conversion times', async () => {
      const r = await get(`/v1/reports/leads?${PERIOD}&groupBy=operator`);
      expect(r.statusCode, r.body).toBe(200);
      const { anna, boris, vera } = a.ops as { anna: number; boris: number; vera: number };
      expect(r.json()).toMatchObject({ from: at(-60), to: at(24 * 60), groupBy: 'operator' });
      expect(r.json().rows).toEqual([
        {
          key: String(anna),
          label: 'Anna Ivanova',
          leads: 2,
          open: 1,
          junk: 0,
          convertedToContact: 1,
          convertedToDeal: 1,
          contactRate: 0.5,
          dealRate: 0.5,
          responded: 2,
          firstResponseP50Sec: 900,
          firstResponseAvgSec: 900,
          toConversionP50Sec: 7200,
          toConversionAvgSec: 7200,
        },
        {
          key: String(boris),
          label: 'Boris Petrov',
          leads: 1,
          open: 0,
          junk: 1,
          convertedToContact: 0,
          convertedToDeal: 0,
          contactRate: 0,
          dealRate: 0,
          responded: 0,
          firstResponseP50Sec: null,
          firstResponseAvgSec: null,
          toConversionP50Sec: null,
          toConversionAvgSec: null,
        },
        expect.objectContaining({
          key: String(vera),
          leads: 1,
          convertedToContact: 0,
          convertedToDeal: 1,
          firstResponseP50Sec: 15,
        }),
      ]);
    });

    it('leads by source, channel and region', async () => {
      const bySource = (await get(`/v1/reports/leads?${PERIOD}&groupBy=source`)).json().rows;
      expect(bySource.map((x: { key: string; leads: number }) => [x.key, x.leads])).toEqual([
        ['form:demo', 2],
        ['line:demo', 2],
      ]);
      const byChannel = (await get(`/v1/reports/leads?${PERIOD}&groupBy=channel`)).json().rows;
      expect(byChannel.map((x: { key: string; leads: number }) => [x.key, x.leads])).toEqual([
        ['phone', 2],
        ['webform', 2],
      ]);
      const byRegion = (await get(`/v1/reports/leads?${PERIOD}&groupBy=region`)).json().rows;
      expect(byRegion.map((x: { label: string; leads: number }) => [x.label, x.leads])).toEqual([
        ['Moscow', 3],
        ['Saint Petersburg', 1],
      ]);
    });

    it('operators: contacts by channel, first response p50/p90, SLA breaches, callbacks in time', async () => {
      const r = await get(`/v1/reports/operators?${PERIOD}`);
      expect(r.statusCode, r.body).toBe(200);
      const { anna, boris, vera } = a.ops as { anna: number; boris: number; vera: number };
      expect(r.json().slaMinutes).toBe(30);
      expect(r.json().rows).toEqual([
        {
          operatorId: anna,
          operator: 'Anna Ivanova',
          contacts: 3,
          calls: 1,
          emails: 1,
          messages: 0,
          forms: 1,
          responded: 3,
          // 600, 1200 and 2400 s: p90 interpolates 1200 + 0.8 x 1200.
          firstResponseP50Sec: 1200,
          firstResponseP90Sec: 2160,
          slaBreaches: 1,
          slaRuleBreaches: 1,
          callbacks: 1,
          callbacksInTime: 1,
          callbacksLate: 0,
          callbacksOverdue: 0,
        },
        {
          operatorId: boris,
          operator: 'Boris Petrov',
          contacts: 1,
          calls: 0,
          emails: 0,
          messages: 0,
          forms: 1,
          responded: 0,
          firstResponseP50Sec: null,
          firstResponseP90Sec: null,
          // not answered and older than 30 minutes now
          slaBreaches: 1,
          slaRuleBreaches: 0,
          callbacks: 2,
          callbacksInTime: 0,
          callbacksLate: 1,
          callbacksOverdue: 1,
        },
        expect.objectContaining({
          operatorId: vera,
          contacts: 2,
          calls: 1,
          messages: 1,
          responded: 2,
          // the answered call (15 s) and the conversation's first outbound message (300 s)
          firstResponseP50Sec: 157.5,
          slaBreaches: 0,
        }),
      ]);
      const strict = (await get(`/v1/reports/operators?${PERIOD}&slaMinutes=15`)).json();
      expect(strict.rows.map((x: { slaBreaches: number }) => x.slaBreaches)).toEqual([2, 1, 0]);
    });

    it('supervisors see their regions only; operators are refused', async () => {
      const leads = await get(`/v1/reports/leads?${PERIOD}&groupBy=region`, sofia);
      expect(leads.statusCode).toBe(200);
      expect(leads.json().rows.map((x: { label: string }) => x.label)).toEqual(['Moscow']);
      const ops = await get(`/v1/reports/operators?${PERIOD}`, sofia);
      expect(ops.json().rows.map((x: { operator: string }) => x.operator)).toEqual([
        'Anna Ivanova',
        'Boris Petrov',
      ]);
      for (const url of [`/v1/reports/leads?${PERIOD}`, `/v1/reports/operators?${PERIOD}`]) {
        expectError(await get(url, bearer(a.tokens.anna!)), 403, 'FORBIDDEN', 'authorization');
        expectError(await get(url, {}), 401, 'UNAUTHORIZED', 'authorization');
      }
    });

    it('validates the period and the parameters', async () => {
      const q = (s: string) => get(`/v1/reports/leads?${s}`);
      expectError(await q(`from=${at(60)}&to=${at(0)}`), 400, 'VALIDATION', 'to');
      expectError(await q(`from=${at(0)}&to=${at(0)}`), 400, 'VALIDATION', 'to');
      expectError(await get(`/v1/reports/operators?from=${at(60)}&to=${at(0)}`), 400, 'VALIDATION', 'to');
      expectError(await q(`to=${at(0)}`), 400, 'VALIDATION', 'from');
      expectError(await q(`from=yesterday&to=${at(0)}`), 400, 'VALIDATION', 'from');
      expectError(await q(`from=0000-01-01T00:00:00Z&to=${at(0)}`), 400, 'VALIDATION', 'from');
      expectError(await q(`${PERIOD}&groupBy=weekday`), 400, 'VALIDATION', 'groupBy');
      expectError(await q(`${PERIOD}&format=xml`), 400, 'VALIDATION', 'format');
      expectError(await get(`/v1/reports/operators?${PERIOD}&slaMinutes=0`), 400, 'VALIDATION', 'slaMinutes');
      // Instants, not text: 10:00+03:00 is 07:00Z, before 08:00Z.
      const offsets = await q(
        `from=${encodeURIComponent('2026-03-02T10:00:00+03:00')}&to=2026-03-02T08:00:00Z`,
      );
      expect(offsets.statusCode, offsets.body).toBe(200);
    });

    it('answers CSV for Accept: text/csv or ?format=csv, quoted and safe for spreadsheets', async () => {
      const r = await a.app.inject({
        method: 'GET',
        url: `/v1/reports/leads?${PERIOD}&groupBy=source`,
        headers: { ...admin, accept: 'text/csv' },
      });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(r.headers['content-disposition']).toBe('attachment; filename="leads-report.csv"');
      const lines = r.body.replace(/^\uFEFF/, '').split('\r\n');
      expect(r.body.startsWith('\uFEFF')).toBe(true);
      expect(lines[0]).toBe(
        'key,label,leads,open,junk,convertedToContact,convertedToDeal,contactRate,dealRate,responded,firstResponseP50Sec,firstResponseAvgSec,toConversionP50Sec,toConversionAvgSec',
      );
      // The label holds a comma, quotes and a leading '=': quoted, quotes doubled, formula defused.
      expect(lines[1]).toBe(`form:demo,"'=HYPERLINK(""x""), spring",2,0,1,1,1,0.5,0.5,1,600,600,7200,7200`);
      expect(lines[2]).toBe('line:demo,Demo line,2,2,0,0,1,0,0.5,2,607.5,607.5,,');
      expect(lines[3]).toBe('');
      const ops = await get(`/v1/reports/operators?${PERIOD}&format=csv`);
      expect(ops.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(ops.body.split('\r\n')[2]).toMatch(/^\d+,Boris Petrov,1,0,0,0,1,0,,,1,0,2,0,1,1$/);
      // ?format=json wins over the header.
      const json = await a.app.inject({
        method: 'GET',
        url: `/v1/reports/operators?${PERIOD}&format=json`,
        headers: { ...admin, accept: 'text/csv' },
      });
      expect(json.json().rows).toHaveLength(3);
    });

    it('a lead converted before anyone answered gets its first response from its contact', async () => {
      const l = await lead({
        op: null,
        region: msk,
        channel: 'webform',
        source: 'form',
        name: 'x',
        min: 40_000,
      });
      const c = await one(`INSERT INTO contacts (name, region_id) VALUES ('C6', $1)`, [msk]);
      await t.db.query(
        `UPDATE leads SET status = 'converted', converted_contact_id = $2, converted_at = $3 WHERE id = $1`,
        [l, c, at(40_010)],
      );
      await activity({
        owner: ['contact', c],
        type: 'call',
        direction: 'outbound',
        op: a.ops.anna!,
        min: 40_020,
      });
      const row = (
        await t.db.query<{ first_response_at: Date }>('SELECT first_response_at FROM leads WHERE id = $1', [
          l,
        ])
      ).rows[0]!;
      expect(new Date(row.first_response_at).toISOString()).toBe(at(40_020));
    });

    it('responses written out of their own order leave the earliest', async () => {
      const l = await lead({
        op: null,
        region: msk,
        channel: 'phone',
        source: 'line',
        name: 'x',
        min: 45_000,
      });
      const call = await activity({
        owner: ['lead', l],
        type: 'call',
        direction: 'inbound',
        op: a.ops.anna!,
        min: 45_000,
      });
      await activity({
        owner: ['lead', l],
        type: 'call',
        direction: 'outbound',
        op: a.ops.anna!,
        min: 45_030,
      });
      await activity({
        owner: ['lead', l],
        type: 'email',
        direction: 'outbound',
        op: a.ops.anna!,
        min: 45_010,
      });
      await activity({
        owner: ['lead', l],
        type: 'call',
        direction: 'outbound',
        op: a.ops.anna!,
        min: 45_020,
      });
      const r = await t.db.query<{ a: Date; l: Date }>(
        'SELECT (SELECT first_response_at FROM activities WHERE id = $1) AS a, (SELECT first_response_at FROM leads WHERE id = $2) AS l',
        [call, l],
      );
      expect(new Date(r.rows[0]!.a).toISOString()).toBe(at(45_010));
      expect(new Date(r.rows[0]!.l).toISOString()).toBe(at(45_010));
    });

    it("the router's writes keep first responses: a missed call is answered by the call back", async () => {
      const phone = '+74957771122';
      const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString();
      const [missedAt, calledAt] = [ago(10), ago(3)];
      await a.router.handle([callEvent({ from: phone, status: 'missed', at: missedAt, callId: 'r-1' })]);
      await a.router.handle([
        callEvent({
          from: phone,
          status: 'answered',
          direction: 'outbound',
          at: calledAt,
          callId: 'r-2',
          talkSec: 30,
        }),
      ]);
      const rows = (
        await t.db.query<{
          type: string;
          direction: string;
          first_response_at: Date | null;
          lead: Date | null;
          lead_created: Date;
        }>(
          `SELECT a.type, a.direction, a.first_response_at, l.first_response_at AS lead, l.created_at AS lead_created
             FROM activities a JOIN leads l ON a.owner_type = 'lead' AND l.id = a.owner_id
            WHERE a.created_at >= $1 AND a.type = 'call' AND a.direction = 'inbound'`,
          [missedAt],
        )
      ).rows;
      expect(rows).toHaveLength(1);
      expect(new Date(rows[0]!.first_response_at!).toISOString()).toBe(calledAt);
      // The lead was written when the call was routed (now), after the call back's own time: answered at once.
      expect(rows[0]!.lead).toEqual(rows[0]!.lead_created);
    });
  });
}

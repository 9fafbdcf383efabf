import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../app/config.js';
import { DEMO_LINE_SECRET } from '../../../app/demo-seed.js';
import { type Service, startService } from '../../../app/service.js';
import { upsertMessengerAccount } from '../../../crm-core/repositories/messenger-account.repository.js';
import { createLogger } from '../../../lib/logger.js';
import { ConsoleClient, signIn } from '../../support/console-socket.js';
import { createTestPg, type TestDatabase } from '../../support/db.js';
import { metaFixture, metaSignature, whatsappAccount } from '../../support/meta-app.js';
import { pgAvailable } from '../../support/services.js';

/**
 * The operator socket on two real service instances sharing one real PostgreSQL (and nothing else: each has its
 * own in-process contact bus). Contacts arrive through instance A; anna's console is connected to instance B;
 * the notices travel through PostgreSQL LISTEN/NOTIFY (realtime/pg-hub.ts).
 */
const available = await pgAvailable();
const logger = createLogger({ level: 'silent' });
const ADMIN_TOKEN = 'console-socket-admin-token-0123';

describe.skipIf(!available)('console socket over two instances on one PostgreSQL', () => {
  const account = whatsappAccount({ regionId: undefined, key: 'wa-console' });
  let t: TestDatabase;
  let a: Service;
  let b: Service;
  let cookie: string;
  let anna: ConsoleClient;
  /** Meta's Graph API as it refuses a message for good (400, code 100): the reply fails at once. */
  let graph: Server;
  let graphUrl: string;
  const ops: Record<string, number> = {};
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

  const env = () => ({
    PORT: '0',
    DATABASE_URL: t.url!,
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    DEMO_SEED: 'true',
    // Every test file has its own channel: NOTIFY is database-wide, schemas do not separate it.
    // Nothing leaves the machine: Meta is a local refusal, the other vendors are nowhere.
    TELEGRAM_API_URL: 'http://127.0.0.1:9',
    META_GRAPH_API_URL: graphUrl,
    VK_API_URL: 'http://127.0.0.1:9',
    VIBER_API_URL: 'http://127.0.0.1:9',
    REALTIME_CHANNEL: `t_${randomUUID().replaceAll('-', '').slice(0, 12)}`,
  });

  async function whatsapp(service: Service, from: string, text: string) {
    const wamid = `wamid.C${randomUUID().replaceAll('-', '')}`;
    const body = metaFixture('wa-text.json')
      .replaceAll('16505551234', from)
      .replace(/wamid\.[A-Za-z0-9=]+/, wamid)
      .replace(/"timestamp": "\d+"/, `"timestamp": "${Math.floor(Date.now() / 1000)}"`)
      .replace(/"body":\s*"[^"]*"/, `"body": ${JSON.stringify(text)}`);
    const res = await fetch(new URL(`/v1/messengers/whatsapp/${account.key}`, service.url), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': metaSignature(account.appSecret, body),
      },
      body,
    });
    expect(res.status).toBe(200);
  }

  beforeAll(async () => {
    graph = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100 } }),
      );
    });
    await new Promise<void>((r) => graph.listen(0, '127.0.0.1', r));
    graphUrl = `http://127.0.0.1:${(graph.address() as AddressInfo).port}`;
    t = await createTestPg();
    await upsertMessengerAccount(t.db, account);
    const e = env();
    a = await startService(loadConfig(e), logger);
    b = await startService(loadConfig(e), logger);
    expect([a.realtime.kind, b.realtime.kind]).toEqual(['postgres', 'postgres']);
    for (const r of (await t.db.query<{ id: number; login: string }>('SELECT id, login FROM operators')).rows)
      ops[r.login] = r.id;
    // Boris is away: Moscow's new clients go to anna (the only online operator there).
    for (const [login, patch] of [
      ['anna', { password: 'anna password 1' }],
      ['boris', { status: 'away' }],
    ] as const) {
      const r = await fetch(new URL(`/v1/admin/operators/${ops[login]}`, a.url), {
        method: 'PATCH',
        headers: admin,
        body: JSON.stringify(patch),
      });
      expect(r.status, await r.text()).toBe(200);
    }
    cookie = (await signIn(b.url, 'anna', 'anna password 1')).cookie;
    anna = await ConsoleClient.open(b.url, { cookie });
  }, 60_000);

  afterAll(async () => {
    anna?.close();
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
    await t?.drop();
    graph?.close();
  }, 60_000);

  it('refuses a socket without a session (4401) and one opened from another site (4403)', async () => {
    expect(await ConsoleClient.refusal(b.url, {})).toBe(4401);
    expect(await ConsoleClient.refusal(b.url, { cookie: 'ci_session=not-a-session' })).toBe(4401);
    expect(await ConsoleClient.refusal(b.url, { cookie, origin: 'https://evil.example' })).toBe(4403);
    expect(await ConsoleClient.refusal(b.url, { cookie, origin: null })).toBe(4403);
  });

  it('says hello with the operator, role and regions, and answers ping', async () => {
    expect(anna.hello).toMatchObject({
      type: 'hello',
      operator: { id: ops.anna, name: 'Anna Ivanova' },
      role: 'operator',
    });
    expect((anna.hello.regionIds as number[]).length).toBe(1);
    anna.send({ type: 'ping' });
    await anna.next((f) => f.type === 'pong', 2_000);
  });

  it('a WhatsApp message through instance A reaches anna on instance B: work.changed, then message.created within a second', async () => {
    await whatsapp(a, '74957001122', 'Hello, is the sofa in stock?');
    await anna.next((f) => f.type === 'work.changed', 5_000);
    const work = await fetch(new URL('/v1/console/work', b.url), { headers: { cookie } });
    expect(work.status).toBe(200);
    const items = ((await work.json()) as { items: { kind: string; id: number; preview: string }[] }).items;
    const conversation = items.find((i) => i.kind === 'conversation');
    expect(conversation?.preview).toBe('Hello, is the sofa in stock?');

    anna.send({ type: 'subscribe', conversationId: conversation!.id });
    // The subscription is taken once the server checked visibility; a ping after it is answered after it.
    anna.send({ type: 'ping' });
    await anna.next((f) => f.type === 'pong', 2_000);
    const sent = Date.now();
    const mark = anna.mark();
    await whatsapp(a, '74957001122', 'And the delivery price?');
    const frame = await anna.next((f) => f.type === 'message.created', 1_000);
    expect(Date.now() - sent).toBeLessThan(1_000);
    expect(frame).toMatchObject({
      conversationId: conversation!.id,
      message: { direction: 'inbound', text: 'And the delivery price?' },
    });
    // A message in a conversation she already lists: the work.changed carries it, so the console patches that
    // entry (its preview, since when the client waits) instead of refetching the whole list.
    const touched = await anna.seen((f) => f.type === 'work.changed', 2_000, mark);
    expect(touched).toMatchObject({
      conversationId: conversation!.id,
      preview: 'And the delivery price?',
      waiting: true,
    });
    expect(Date.parse(String(touched.at))).toBeGreaterThan(0);
  });

  it('refuses to follow a conversation anna may not see', async () => {
    // Vera's client (Saint Petersburg, +7812): its conversation is hers.
    await b.app.inject({
      method: 'PATCH',
      url: `/v1/admin/operators/${ops.vera}`,
      headers: admin,
      payload: { status: 'online' },
    });
    await whatsapp(a, '78127003344', 'Privet');
    const conv = async () =>
      (
        await t.db.query<{ id: number }>(
          `SELECT c.id FROM conversations c JOIN activities x ON x.id = c.activity_id WHERE x.responsible_id = $1`,
          [ops.vera],
        )
      ).rows[0]?.id;
    let id = await conv();
    for (let i = 0; i < 50 && !id; i++) {
      await new Promise((r) => setTimeout(r, 100));
      id = await conv();
    }
    anna.send({ type: 'subscribe', conversationId: id });
    expect(await anna.next((f) => f.type === 'error', 2_000)).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('pops the caller card on the routing answer (known client, then a new caller with region and source)', async () => {
    const ask = async (from: string) =>
      fetch(new URL(`/v1/telephony/route?from=${encodeURIComponent(from)}&line=demo`, a.url), {
        headers: { authorization: `Bearer ${DEMO_LINE_SECRET}` },
      });
    const known = await ask('+7 495 700-11-22');
    expect(((await known.json()) as { operator: { id: number } }).operator.id).toBe(ops.anna);
    const pop = await anna.next((f) => f.type === 'call.ringing', 1_000);
    expect(pop).toMatchObject({
      phone: '+74957001122',
      line: 'demo',
      known: true,
      client: { entityType: 'lead', name: expect.any(String) },
    });

    const fresh = await ask('+7 495 700-99-88');
    expect(((await fresh.json()) as { known: boolean }).known).toBe(false);
    const moscow = (await t.db.query<{ id: number }>(`SELECT id FROM regions WHERE code = 'msk'`)).rows[0]!
      .id;
    expect(await anna.next((f) => f.type === 'call.ringing', 1_000)).toMatchObject({
      phone: '+74957009988',
      known: false,
      client: null,
      regionId: moscow,
      source: 'Demo ad campaign',
    });
  });

  it('a ringing call through the telephony webhook on A pops the card of the known caller on B', async () => {
    const callId = randomUUID().replaceAll('-', '');
    const r = await fetch(new URL(`/v1/telephony/cti/demo/${DEMO_LINE_SECRET}`, a.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        event: 'newCall',
        from: '74957001122',
        to: '74950000000',
        direction: 'in',
        callId,
      }),
    });
    expect(r.status, await r.text()).toBeLessThan(300);
    expect(await anna.next((f) => f.type === 'call.ringing', 1_000)).toMatchObject({
      phone: '+74957001122',
      line: 'demo',
      known: true,
      client: { entityType: 'lead' },
    });
  });

  it("a supervisor hears of their operators' work changes; typing reaches the others following a conversation, not the typist", async () => {
    const moscow = (await t.db.query<{ id: number }>(`SELECT id FROM regions WHERE code = 'msk'`)).rows[0]!
      .id;
    const made = await fetch(new URL('/v1/admin/operators', a.url), {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({
        login: 'sofia',
        name: 'Sofia',
        role: 'supervisor',
        regionIds: [moscow],
        password: 'sofia password 1',
      }),
    });
    expect(made.status).toBe(201);
    const sofia = await ConsoleClient.open(a.url, {
      cookie: (await signIn(a.url, 'sofia', 'sofia password 1')).cookie,
    });
    try {
      expect(sofia.hello).toMatchObject({ role: 'supervisor', regionIds: [moscow] });
      // Anna's client writes again: anna's work changed, so did her supervisor's view of the region.
      await whatsapp(a, '74957001122', 'Are you there?');
      await sofia.next((f) => f.type === 'work.changed', 2_000);
      const conv = (
        await t.db.query<{ id: number }>(
          `SELECT c.id FROM conversations c JOIN activities x ON x.id = c.activity_id WHERE x.responsible_id = $1`,
          [ops.anna],
        )
      ).rows[0]!.id;
      sofia.send({ type: 'subscribe', conversationId: conv });
      sofia.send({ type: 'ping' });
      await sofia.next((f) => f.type === 'pong', 2_000);
      const mark = anna.mark();
      anna.send({ type: 'typing', conversationId: conv });
      expect(await sofia.next((f) => f.type === 'typing', 1_000)).toEqual({
        type: 'typing',
        conversationId: conv,
        who: 'operator',
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(anna.frames.slice(mark).filter((f) => f.type === 'typing')).toEqual([]);
      // Anna has the client's messages on screen: read receipts go to whoever follows it (a live-chat visitor's
      // widget among them), forwards only; a bad id or a conversation not followed is refused.
      const newest = Number(
        (
          await t.db.query<{ id: number }>('SELECT max(id) AS id FROM messages WHERE conversation_id = $1', [
            conv,
          ])
        ).rows[0]!.id,
      );
      anna.send({ type: 'read', conversationId: conv, upTo: newest });
      expect(await sofia.next((f) => f.type === 'read', 1_000)).toEqual({
        type: 'read',
        conversationId: conv,
        who: 'operator',
        upTo: newest,
      });
      const seen = sofia.mark();
      anna.send({ type: 'read', conversationId: conv, upTo: newest });
      anna.send({ type: 'read', conversationId: conv, upTo: 'all' });
      expect(await anna.next((f) => f.type === 'error', 1_000)).toMatchObject({ code: 'VALIDATION' });
      anna.send({ type: 'read', conversationId: 999_999, upTo: newest });
      expect(await anna.next((f) => f.type === 'error' && f.code === 'NOT_FOUND', 1_000)).toBeTruthy();
      await new Promise((r) => setTimeout(r, 200));
      expect(sofia.frames.slice(seen).filter((f) => f.type === 'read')).toEqual([]);
    } finally {
      sofia.close();
    }
  });

  it('signing out on instance A closes that session’s socket on instance B at once (4401), not the others', async () => {
    const other = await signIn(a.url, 'anna', 'anna password 1');
    const tab = await ConsoleClient.open(b.url, { cookie: other.cookie });
    const r = await fetch(new URL('/v1/session', a.url), {
      method: 'DELETE',
      headers: { cookie: other.cookie, 'x-csrf-token': other.csrfToken, origin: new URL(a.url).origin },
    });
    expect(r.status).toBe(204);
    expect(await tab.closed(2_000)).toBe(4401);
    anna.send({ type: 'ping' });
    await anna.next((f) => f.type === 'pong', 2_000);
  });

  it('an operator reply through instance A reaches the conversation on B as message.created and message.status', async () => {
    // The vendor is not reachable from the test: the reply is recorded (pending) and its failure reported.
    const conv = (
      await t.db.query<{ id: number }>(
        `SELECT c.id FROM conversations c JOIN activities x ON x.id = c.activity_id WHERE x.responsible_id = $1`,
        [ops.anna],
      )
    ).rows[0]!.id;
    const session = await signIn(a.url, 'anna', 'anna password 1');
    const mark = anna.mark();
    const r = await fetch(new URL(`/v1/conversations/${conv}/messages`, a.url), {
      method: 'POST',
      headers: {
        cookie: session.cookie,
        'x-csrf-token': session.csrfToken,
        origin: new URL(a.url).origin,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ text: 'Yes, it is in stock' }),
    });
    const answer = (await r.json()) as { messageId: number; status: string };
    expect(r.status, JSON.stringify(answer)).toBe(422);
    // Either may come first: the reply's notice is prepared after a read, the status right after the send.
    const created = await anna.seen(
      (f) => f.type === 'message.created' && f.message?.direction === 'outbound',
      2_000,
      mark,
    );
    expect(created).toMatchObject({
      conversationId: conv,
      message: { id: answer.messageId, text: 'Yes, it is in stock' },
    });
    const status = await anna.seen((f) => f.type === 'message.status', 2_000, mark);
    expect(status).toMatchObject({
      conversationId: conv,
      messageId: answer.messageId,
      status: 'failed',
      error: { message: expect.stringContaining('Invalid parameter') },
    });
  });

  it('work done through the API on A (a lead status, a callback) tells the consoles on B', async () => {
    const session = await signIn(a.url, 'anna', 'anna password 1');
    const headers = {
      cookie: session.cookie,
      'x-csrf-token': session.csrfToken,
      origin: new URL(a.url).origin,
      'content-type': 'application/json',
    };
    const lead = (
      await t.db.query<{ id: number }>(`SELECT id FROM leads WHERE responsible_id = $1 ORDER BY id LIMIT 1`, [
        ops.anna,
      ])
    ).rows[0]!.id;
    let mark = anna.mark();
    const status = await fetch(new URL(`/v1/leads/${lead}/status`, a.url), {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ status: 'in_progress' }),
    });
    expect(status.status, await status.text()).toBe(200);
    await anna.seen((f) => f.type === 'work.changed', 2_000, mark);

    mark = anna.mark();
    const callback = await fetch(new URL(`/v1/leads/${lead}/activities`, a.url), {
      method: 'POST',
      headers,
      body: JSON.stringify({
        type: 'callback',
        subject: 'Call back about the sofa',
        deadline: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    expect(callback.status, await callback.text()).toBe(201);
    await anna.seen((f) => f.type === 'work.changed', 2_000, mark);
  });

  it('presence: anna going away is told to her consoles', async () => {
    const session = await signIn(a.url, 'anna', 'anna password 1');
    const r = await fetch(new URL('/v1/operators/me/status', a.url), {
      method: 'PUT',
      headers: {
        cookie: session.cookie,
        'x-csrf-token': session.csrfToken,
        origin: new URL(a.url).origin,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ status: 'away' }),
    });
    expect(r.status, await r.text()).toBe(200);
    expect(await anna.next((f) => f.type === 'presence', 2_000)).toMatchObject({
      operatorId: ops.anna,
      status: 'away',
    });
  });
});

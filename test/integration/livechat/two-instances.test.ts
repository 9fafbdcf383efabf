import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../app/config.js';
import { type Service, startService } from '../../../app/service.js';
import { createLogger } from '../../../lib/logger.js';
import { createTestPg, type TestDatabase } from '../../support/db.js';
import { type Frame, SITE, visitor } from '../../support/livechat-app.js';
import { pgAvailable } from '../../support/services.js';

/**
 * Two instances of the whole service on one PostgreSQL (each with its in-process bus and router; the real-time
 * hub is PostgreSQL LISTEN/NOTIFY): a visitor connected to one and an operator answering through the other talk in
 * real time, and when the visitor's instance stops, their widget reconnects to the other and resumes.
 */
const ADMIN_TOKEN = 'livechat-two-instances-admin-0001';

describe.skipIf(!(await pgAvailable()))('live chat across two instances on PostgreSQL', () => {
  let t: TestDatabase;
  let a: Service;
  let b: Service;
  const start = (seed: boolean, channel: string) =>
    startService(
      loadConfig({
        PORT: '0',
        DATABASE_URL: t.url!,
        LOG_LEVEL: 'silent',
        DEMO_SEED: String(seed),
        ADMIN_TOKEN,
        REALTIME_CHANNEL: channel,
      }),
      createLogger({ level: 'silent' }),
    );
  const ws = (s: Service) => `${s.url.replace(/^http/, 'ws')}/v1/widget/ws`;
  const api = async (
    s: Service,
    method: string,
    path: string,
    token: string,
    body?: unknown,
    key?: string,
  ) => {
    const r = await fetch(new URL(path, s.url), {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(key ? { 'idempotency-key': key } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: await r.json().catch(() => undefined) };
  };

  beforeAll(async () => {
    t = await createTestPg();
    const channel = `lc_${randomUUID().slice(0, 8)}`;
    a = await start(true, channel);
    b = await start(false, channel);
    const put = await api(b, 'PUT', '/v1/admin/widgets/shop', ADMIN_TOKEN, {
      name: 'Shop chat',
      allowedOrigins: [SITE],
    });
    expect(put.status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await t?.drop();
  });

  it('visitor on A, operator on B: reply and typing in real time; A stops, the visitor resumes on B', async () => {
    const v1 = visitor(ws(a), { widget: 'shop' });
    const token = (await v1.next('hello')).visitor as string;
    v1.send({ type: 'message', clientId: 'x-1', text: 'Hello from instance A' });
    const first = await v1.next('ack');
    const conv = (
      await t.db.query<{ id: number; responsible_id: number }>(
        `SELECT c.id, a.responsible_id FROM conversations c JOIN activities a ON a.id = c.activity_id
          WHERE c.channel = 'webchat'`,
      )
    ).rows[0]!;
    const operator = a.demo!.operators.find((o) => o.id === conv.responsible_id)!;
    const reply = async (text: string) => {
      const r = await api(
        b,
        'POST',
        `/v1/conversations/${conv.id}/messages`,
        operator.token,
        { text },
        randomUUID(),
      );
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.messageId as number;
    };

    const r1 = await reply('Hello from instance B');
    expect((await v1.next('message', (f) => f.message.id === r1)).message.text).toBe('Hello from instance B');
    await b.realtime.publish({
      topic: `conversation:${conv.id}`,
      type: 'typing',
      data: { conversationId: Number(conv.id), who: 'operator' },
    });
    await v1.next('typing');

    // A stops (its sockets are closed); the widget comes back to B with what it saw last.
    const closed = v1.closed;
    await a.close();
    expect((await closed).code).toBe(1001);
    const r2 = await reply('Sent while you were away');
    const v2 = visitor(ws(b), { widget: 'shop', visitor: token, after: r1 });
    const hello = await v2.next('hello');
    const shown = new Map<number, string>([
      [first.id, 'Hello from instance A'],
      [r1, 'Hello from instance B'],
    ]);
    for (const m of hello.history as Frame[]) shown.set(m.id, m.text);
    expect([...shown.entries()].sort(([x], [y]) => x - y).map(([, text]) => text)).toEqual([
      'Hello from instance A',
      'Hello from instance B',
      'Sent while you were away',
    ]);
    expect(shown.has(r2)).toBe(true);
    v2.send({ type: 'message', clientId: 'x-2', text: 'Back, on instance B' });
    await v2.next('ack');
    const stored = await t.db.query<{ text: string }>(
      'SELECT text FROM messages WHERE conversation_id = $1 ORDER BY id',
      [conv.id],
    );
    expect(stored.rows.map((r) => r.text)).toEqual([
      'Hello from instance A',
      'Hello from instance B',
      'Sent while you were away',
      'Back, on instance B',
    ]);
    await v2.close();
  }, 60_000);
});

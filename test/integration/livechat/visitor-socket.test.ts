import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTICE_TEXT_MAX, visitorTopic } from '../../../channels/widgets.js';
import { upsertWidget } from '../../../crm-core/repositories/widget.repository.js';
import { AppError } from '../../../lib/errors.js';
import { ADMIN_TOKEN, bearer } from '../../support/api-app.js';
import { createTestPg, type TestDatabase } from '../../support/db.js';
import { formEvent } from '../../support/events.js';
import {
  buildLivechatApp,
  type Frame,
  type LivechatTestApp,
  SITE,
  shopWidget,
  visitor,
} from '../../support/livechat-app.js';
import { pgAvailable } from '../../support/services.js';

describe.skipIf(!(await pgAvailable()))('live chat: the visitor socket on PostgreSQL', () => {
  let t: TestDatabase;
  let a: LivechatTestApp;
  const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.query<R>(sql, params)).rows;
  const holder = async (kind: string, value: string) =>
    (
      await q<{ owner_type: string; owner_id: number }>(
        'SELECT owner_type, owner_id FROM identities WHERE kind = $1 AND value = $2',
        [kind, value],
      )
    )[0];
  /** The visitor id of a token, as the CRM stores it: the chat id of their conversations. */
  const chatOf = async (token: string) => {
    const { visitorIdOf } = await import('../../../connectors/livechat/visitor.js');
    return visitorIdOf('shop', token);
  };
  const reply = async (conversationId: number, text: string, login = 'anna') => {
    const r = await a.app.inject({
      method: 'POST',
      url: `/v1/conversations/${conversationId}/messages`,
      headers: { ...bearer(a.tokens[login]!), 'idempotency-key': randomUUID() },
      payload: { text },
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json().messageId as number;
  };
  const conversationOf = async (chat: string) =>
    (
      await q<{ id: number; owner_type: string; owner_id: number }>(
        'SELECT id, owner_type, owner_id FROM conversations WHERE chat_id = $1 ORDER BY id DESC LIMIT 1',
        [chat],
      )
    )[0]!;
  /** A visitor connects and sends text; resolves with their token and the message's stored id. */
  const chat = async (text: string, q: Record<string, string | undefined> = {}) => {
    const v = visitor(a.wsUrl, { widget: 'shop', ...q });
    const hello = await v.next('hello');
    v.send({ type: 'message', clientId: 'first', text });
    const ack = await v.next('ack');
    return { v, token: hello.visitor as string, id: ack.id as number };
  };

  beforeAll(async () => {
    t = await createTestPg();
    // Visitors of a widget without a region go to the default queue operator, anna, who replies below.
    a = await buildLivechatApp(t);
  });
  afterAll(async () => {
    await a?.close();
    await t?.drop();
  });

  it('refuses a page of another origin, no origin, an unknown or switched-off widget, before any frame', async () => {
    for (const [origin, widget, code] of [
      ['https://evil.example', 'shop', 4403],
      [null, 'shop', 4403],
      [SITE, 'nope', 4404],
      [SITE, 'bad key/../x', 4404],
    ] as const) {
      const v = visitor(a.wsUrl, { widget }, origin);
      v.send({ type: 'message', clientId: 'x1', text: 'let me in' });
      expect((await v.closed).code, `${origin} ${widget}`).toBe(code);
      expect(v.frames).toEqual([]);
    }
    await upsertWidget(t.db, shopWidget({ key: 'off', active: false }));
    const off = visitor(a.wsUrl, { widget: 'off' });
    expect((await off.closed).code).toBe(4404);
    // Nothing reached the CRM.
    expect(await q("SELECT 1 FROM messages WHERE channel = 'webchat'")).toEqual([]);
  });

  it('greets with a new token, the widget look and who is online; a message becomes a lead sourced from the page', async () => {
    const page = 'https://shop.example/sofas?utm_source=yandex&utm_medium=cpc&utm_campaign=winter';
    const v = visitor(a.wsUrl, { widget: 'shop', page, referrer: 'https://yandex.ru/search?q=sofa' });
    const hello = await v.next('hello');
    expect(hello).toMatchObject({
      history: [],
      online: true,
      config: { colors: { primary: '#0a7d5a' }, preChat: { fields: ['name', 'phone'], required: [] } },
    });
    expect(hello.visitor).toMatch(/^[A-Za-z0-9_-]{43}$/);
    v.send({ type: 'message', clientId: 'c-1', text: 'Do you deliver sofas to Tver?' });
    const ack = await v.next('ack');
    expect(ack).toEqual({ type: 'ack', clientId: 'c-1', id: expect.any(Number) });

    const chatId = await chatOf(hello.visitor);
    const owner = (await holder('webchat', chatId))!;
    expect(owner.owner_type).toBe('lead');
    const [lead] = await q<{
      channel: string;
      source_type: string;
      source_key: string;
      source_name: string;
      utm: object;
    }>('SELECT * FROM leads WHERE id = $1', [owner.owner_id]);
    expect(lead).toMatchObject({
      channel: 'webchat',
      source_type: 'chat',
      source_key: 'shop',
      source_name: 'site chat',
      utm: { source: 'yandex', medium: 'cpc', campaign: 'winter' },
    });
    const conv = await conversationOf(chatId);
    const [activity] = await q<{ details: { meta: Record<string, unknown> } }>(
      'SELECT a.details FROM activities a JOIN conversations c ON c.activity_id = a.id WHERE c.id = $1',
      [conv.id],
    );
    expect(activity!.details.meta).toMatchObject({
      pageUrl: page,
      referrer: 'https://yandex.ru/search?q=sofa',
    });
    // A page without UTM tags: the referring site is the source.
    const other = await chat('Hi', {
      page: 'https://shop.example/',
      referrer: 'https://news.example/article',
    });
    const ownerB = (await holder('webchat', await chatOf(other.token)))!;
    expect((await q('SELECT utm FROM leads WHERE id = $1', [ownerB.owner_id]))[0]).toEqual({
      utm: { source: 'news.example', medium: 'referral' },
    });
    await v.close();
    await other.v.close();
  });

  it('a phone from the pre-chat form joins the visitor to the client who has it; no second lead', async () => {
    await a.bus.publish([formEvent({ phone: '+7 (495) 111-22-33', name: 'Ivan Petrov' })]);
    const known = (await holder('phone', '+74951112233'))!;
    const leadsBefore = (await q('SELECT id FROM leads')).length;
    const v = visitor(a.wsUrl, { widget: 'shop', page: 'https://shop.example/' });
    const hello = await v.next('hello');
    v.send({ type: 'contact', clientId: 'k-1', name: 'Ivan', phone: '8 495 111 22 33' });
    await v.next('ack', (f) => f.clientId === 'k-1');
    v.send({ type: 'message', clientId: 'm-1', text: 'It is Ivan again' });
    await v.next('ack', (f) => f.clientId === 'm-1');
    const chatId = await chatOf(hello.visitor);
    expect(await holder('webchat', chatId)).toEqual(known);
    expect((await conversationOf(chatId)).owner_id).toBe(known.owner_id);
    expect((await q('SELECT id FROM leads')).length).toBe(leadsBefore);
    // The contact is not a chat line for the visitor; their message is.
    const again = visitor(a.wsUrl, { widget: 'shop', visitor: hello.visitor });
    expect((await again.next('hello')).history.map((m: Frame) => m.text)).toEqual(['It is Ivan again']);
    // A contact that is not one is refused naming the field, nothing published.
    again.send({ type: 'contact', clientId: 'k-2', phone: 'call me maybe' });
    expect(await again.next('error')).toMatchObject({
      code: 'VALIDATION',
      clientId: 'k-2',
      message: /^phone: /,
    });
    await v.close();
    await again.close();
  });

  it('a widget that requires fields refuses a first message or a contact without them, naming the field; nothing written', async () => {
    await upsertWidget(
      t.db,
      shopWidget({
        key: 'strict',
        preChat: { fields: ['name', 'phone', 'email'], required: ['name', 'phone'] },
      }),
    );
    const messagesBefore = await q("SELECT id FROM messages WHERE channel = 'webchat'");
    const identitiesBefore = await q('SELECT id FROM identities');
    const v = visitor(a.wsUrl, { widget: 'strict' });
    const token = (await v.next('hello')).visitor as string;
    v.send({ type: 'message', clientId: 's-1', text: 'Skipping the form' });
    expect(await v.next('error', (f) => f.clientId === 's-1')).toEqual({
      type: 'error',
      code: 'PRE_CHAT_REQUIRED',
      field: 'name',
      clientId: 's-1',
      message: expect.stringMatching(/^name: /),
    });
    // A contact with the name but no phone is refused whole: the name is not kept either.
    v.send({ type: 'contact', clientId: 'k-1', name: 'Pavel', email: 'pavel@example.com' });
    expect(await v.next('error', (f) => f.clientId === 'k-1')).toMatchObject({
      code: 'VALIDATION',
      field: 'phone',
      message: /^phone: /,
    });
    // Malformed phones and emails are refused naming the field.
    for (const [k, value] of [
      ['phone', '-----'],
      ['phone', '12345'],
      ['phone', '+7 495 +111'],
      ['email', 'pavel@example'],
      ['email', 'pavel @example.com'],
    ] as const) {
      v.send({ type: 'contact', clientId: 'k-bad', name: 'Pavel', phone: '+7 495 222-33-44', [k]: value });
      expect(await v.next('error', (f) => f.clientId === 'k-bad'), value).toMatchObject({
        code: 'VALIDATION',
        field: k,
      });
    }
    v.send({ type: 'message', clientId: 's-1', text: 'Skipping the form' });
    expect(await v.next('error', (f) => f.clientId === 's-1')).toMatchObject({ code: 'PRE_CHAT_REQUIRED' });
    expect(await q("SELECT id FROM messages WHERE channel = 'webchat'")).toEqual(messagesBefore);
    expect(await q('SELECT id FROM identities')).toEqual(identitiesBefore);
    expect(v.frames.some((f) => f.type === 'ack')).toBe(false);

    // The form filled: the message goes through.
    v.send({ type: 'contact', clientId: 'k-2', name: 'Pavel', phone: '+7 495 222-33-44' });
    await v.next('ack', (f) => f.clientId === 'k-2');
    v.send({ type: 'message', clientId: 's-1', text: 'Skipping the form' });
    await v.next('ack', (f) => f.clientId === 's-1');
    await v.close();
    // On another page the fields are on file (and the visitor has written): no form asked again.
    const again = visitor(a.wsUrl, { widget: 'strict', visitor: token });
    await again.next('hello');
    again.send({ type: 'message', clientId: 's-2', text: 'Back again' });
    await again.next('ack', (f) => f.clientId === 's-2');
    await again.close();
  });

  it('a required field on file for the visitor counts, though they never wrote', async () => {
    // Contact given through the bus, on a page that closed before the first message.
    const v = visitor(a.wsUrl, { widget: 'strict' });
    const token = (await v.next('hello')).visitor as string;
    v.send({ type: 'contact', clientId: 'f-1', name: 'Vera', phone: '+7 495 333-44-55' });
    await v.next('ack', (f) => f.clientId === 'f-1');
    await v.close();
    const next = visitor(a.wsUrl, { widget: 'strict', visitor: token });
    expect((await next.next('hello')).history).toEqual([]);
    next.send({ type: 'message', clientId: 'f-2', text: 'Now my question' });
    await next.next('ack', (f) => f.clientId === 'f-2');
    await next.close();
  });

  it('an operator reply reaches the socket (with their name), becomes delivered; typing goes both ways', async () => {
    const { v, token } = await chat('Is anyone there?');
    const chatId = await chatOf(token);
    const conv = await conversationOf(chatId);
    const typingSeen: Frame[] = [];
    const stop = a.hub.subscribe(`conversation:${conv.id}`, (n) => typingSeen.push(n));
    const messageId = await reply(conv.id, 'Yes, Anna here. How can I help?');
    const got = await v.next('message', (f) => f.message.direction === 'out');
    expect(got.message).toEqual({
      id: messageId,
      direction: 'out',
      text: 'Yes, Anna here. How can I help?',
      sentAt: expect.any(String),
      author: 'Anna Ivanova',
    });
    await expect
      .poll(
        async () =>
          (await q<{ status: string }>('SELECT status FROM messages WHERE id = $1', [messageId]))[0]!.status,
      )
      .toBe('delivered');
    await a.hub.publish({
      topic: `conversation:${conv.id}`,
      type: 'typing',
      data: { conversationId: conv.id, who: 'operator', operatorId: a.ops.anna },
    });
    await v.next('typing');
    v.send({ type: 'typing' });
    await expect
      .poll(() => typingSeen.some((n) => n.type === 'typing' && n.data.who === 'visitor'))
      .toBe(true);
    // The operator's console reports the visitor's messages read (api/console/ws.ts): the widget is told.
    await a.hub.publish({
      topic: `conversation:${conv.id}`,
      type: 'read',
      data: { conversationId: conv.id, who: 'operator', upTo: messageId },
    });
    expect(await v.next('read')).toEqual({ type: 'read', upTo: messageId });
    stop();
    await v.close();
  });

  it('a short reply travels whole in its notice (no read on the way); a long one by id, read by the socket', async () => {
    const { v, token } = await chat('Tell me everything');
    const chatId = await chatOf(token);
    const conv = await conversationOf(chatId);
    const notices: Frame[] = [];
    const stop = a.hub.subscribe(visitorTopic('shop', chatId), (n) => notices.push(n));
    const short = await reply(conv.id, 'In short: yes');
    const got = await v.next('message', (f) => f.message.id === short);
    await expect.poll(() => notices.length).toBe(1);
    expect(notices[0]!.data.message).toEqual(got.message);

    // 4,000 Cyrillic letters: 8,000 bytes, over what a notice carries.
    const text = 'Я'.repeat(4_000);
    expect(Buffer.byteLength(text)).toBeGreaterThan(NOTICE_TEXT_MAX);
    const long = await reply(conv.id, text);
    const gotLong = await v.next('message', (f) => f.message.id === long);
    expect(gotLong.message).toMatchObject({ direction: 'out', text, author: 'Anna Ivanova' });
    await expect.poll(() => notices.length).toBe(2);
    expect(notices[1]!.data).toEqual({ messageId: long, conversationId: conv.id });
    for (const id of [short, long])
      await expect
        .poll(
          async () =>
            (await q<{ status: string }>('SELECT status FROM messages WHERE id = $1', [id]))[0]!.status,
        )
        .toBe('delivered');
    stop();
    await v.close();
  });

  it("after an operator closes the chat, the operator's typing in the visitor's new conversation reaches them", async () => {
    const { v, token } = await chat('First question');
    const chatId = await chatOf(token);
    const first = await conversationOf(chatId);
    await reply(first.id, 'Answered, I think');
    await v.next('message', (f) => f.message.direction === 'out');
    const closed = await a.app.inject({
      method: 'POST',
      url: `/v1/conversations/${first.id}/close`,
      headers: bearer(a.tokens.anna!),
    });
    expect(closed.statusCode, closed.body).toBe(200);
    v.send({ type: 'message', clientId: 'again', text: 'One more thing' });
    await v.next('ack', (f) => f.clientId === 'again');
    await expect.poll(async () => (await conversationOf(chatId)).id).not.toBe(first.id);
    const second = await conversationOf(chatId);
    // The socket trusts an open conversation for a while, but not one it heard was closed: it looks again.
    v.send({ type: 'message', clientId: 'third', text: 'Are you there?' });
    await v.next('ack', (f) => f.clientId === 'third');
    await a.hub.publish({
      topic: `conversation:${second.id}`,
      type: 'typing',
      data: { conversationId: second.id, who: 'operator' },
    });
    await v.next('typing');
    await v.close();
  });

  it('the visitor reading a reply makes it read for the operator; another visitor cannot mark it', async () => {
    const { v, token } = await chat('When do you open?');
    const conv = await conversationOf(await chatOf(token));
    const first = await reply(conv.id, 'At nine.');
    const second = await reply(conv.id, 'And close at six.');
    await v.next('message', (f) => f.message.id === second);
    const statusOf = async (id: number) =>
      (await q<{ status: string }>('SELECT status FROM messages WHERE id = $1', [id]))[0]!.status;
    await expect.poll(() => statusOf(second)).toBe('delivered');
    // A stranger naming these ids changes nothing: a receipt covers the sender's own chat only.
    const stranger = visitor(a.wsUrl, { widget: 'shop' });
    await stranger.next('hello');
    stranger.send({ type: 'read', upTo: second });
    stranger.send({ type: 'read', upTo: 'all' });
    expect(await stranger.next('error')).toMatchObject({ code: 'VALIDATION', field: 'upTo' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await statusOf(second)).toBe('delivered');
    // The visitor saw both (the widget sends the newest id shown in the open chat).
    v.send({ type: 'read', upTo: second });
    await expect.poll(() => statusOf(first)).toBe('read');
    await expect.poll(() => statusOf(second)).toBe('read');
    await Promise.all([v.close(), stranger.close()]);
  });

  it('a reconnect with after= resumes: nothing lost, nothing twice, a resend is the same message', async () => {
    const v1 = visitor(a.wsUrl, { widget: 'shop' });
    const token = (await v1.next('hello')).visitor as string;
    const seen = new Map<number, Frame>();
    const keep = (m: Frame) => seen.set(m.id, m);
    v1.send({ type: 'message', clientId: 'r-1', text: 'one' });
    v1.send({ type: 'message', clientId: 'r-2', text: 'two' });
    const ids = [(await v1.next('ack')).id, (await v1.next('ack')).id];
    keep({ id: ids[0], text: 'one' });
    keep({ id: ids[1], text: 'two' });
    const conv = await conversationOf(await chatOf(token));
    await reply(conv.id, 'three');
    keep((await v1.next('message', (f) => f.message.text === 'three')).message);
    const lastId = Math.max(...seen.keys());
    await v1.close();

    // Away: two replies, one while the socket is gone, one racing the reconnect.
    await reply(conv.id, 'four');
    const v2 = visitor(a.wsUrl, { widget: 'shop', visitor: token, after: lastId });
    await reply(conv.id, 'five');
    const hello = await v2.next('hello');
    expect(hello.visitor).toBe(token);
    for (const m of hello.history) keep(m);
    // "five" raced the reconnect: it is in the history or comes live (or both: the widget keeps it once).
    if (![...seen.values()].some((m) => m.text === 'five')) {
      keep((await v2.next('message', (f) => f.message.text === 'five')).message);
    }
    // The widget keeps one message per id: what it shows is every message once, in order.
    expect([...seen.entries()].sort(([x], [y]) => x - y).map(([, m]) => m.text)).toEqual([
      'one',
      'two',
      'three',
      'four',
      'five',
    ]);
    // "four" reached the visitor with the history: it is delivered too.
    await expect
      .poll(async () => (await q("SELECT status FROM messages WHERE text = 'four'"))[0])
      .toEqual({ status: 'delivered' });
    // The ack of r-2 was "lost": the widget sends it again with the same clientId.
    v2.send({ type: 'message', clientId: 'r-2', text: 'two' });
    expect((await v2.next('ack', (f) => f.clientId === 'r-2')).id).toBe(ids[1]);
    const stored = await q<{ text: string }>(
      'SELECT text FROM messages WHERE conversation_id = $1 ORDER BY id',
      [conv.id],
    );
    expect(stored.map((m) => m.text)).toEqual(['one', 'two', 'three', 'four', 'five']);
    // A new page (no after): the whole history, the visitor's own messages with their clientIds.
    const v3 = visitor(a.wsUrl, { widget: 'shop', visitor: token });
    const full = (await v3.next('hello')).history as Frame[];
    expect(full.map((m) => [m.text, m.direction, m.clientId])).toEqual([
      ['one', 'in', 'r-1'],
      ['two', 'in', 'r-2'],
      ['three', 'out', undefined],
      ['four', 'out', undefined],
      ['five', 'out', undefined],
    ]);
    await v2.close();
    await v3.close();
  });

  it('a bus that cannot take the message: no ack, the widget is told to send again; the resend is stored once', async () => {
    const v = visitor(a.wsUrl, { widget: 'shop' });
    const token = (await v.next('hello')).visitor as string;
    const publish = a.bus.publish;
    a.bus.publish = async () => {
      throw new AppError('BUS_UNAVAILABLE', 'broker away', { retryAfterSec: 3 });
    };
    try {
      v.send({ type: 'message', clientId: 'bus-1', text: 'Are you there?' });
      expect(await v.next('error')).toMatchObject({
        code: 'BUS_UNAVAILABLE',
        clientId: 'bus-1',
        retryAfterSec: 3,
      });
      expect(v.frames.some((f) => f.type === 'ack')).toBe(false);
    } finally {
      a.bus.publish = publish;
    }
    v.send({ type: 'message', clientId: 'bus-1', text: 'Are you there?' });
    await v.next('ack', (f) => f.clientId === 'bus-1');
    const conv = await conversationOf(await chatOf(token));
    expect(
      (await q('SELECT text FROM messages WHERE conversation_id = $1', [conv.id])).map((m) => m.text),
    ).toEqual(['Are you there?']);
    await v.close();
  });

  it('another tab of the same visitor sees their message; another visitor sees nothing', async () => {
    const tab1 = visitor(a.wsUrl, { widget: 'shop' });
    const token = (await tab1.next('hello')).visitor;
    const tab2 = visitor(a.wsUrl, { widget: 'shop', visitor: token });
    await tab2.next('hello');
    const stranger = visitor(a.wsUrl, { widget: 'shop' });
    await stranger.next('hello');
    tab1.send({ type: 'message', clientId: 'tab-1', text: 'from tab one' });
    await tab1.next('ack');
    expect((await tab2.next('message')).message).toMatchObject({
      clientId: 'tab-1',
      text: 'from tab one',
      direction: 'in',
    });
    expect(tab1.frames.filter((f) => f.type === 'message')).toEqual([]);
    expect(stranger.frames.filter((f) => f.type === 'message')).toEqual([]);
    await Promise.all([tab1.close(), tab2.close(), stranger.close()]);
  });

  it('with nobody online the visitor still leaves a message and a contact, which is a lead', async () => {
    await t.db.query("UPDATE operators SET status = 'offline'");
    const v = visitor(a.wsUrl, { widget: 'shop' });
    const hello = await v.next('hello');
    expect(hello.online).toBe(false);
    v.send({ type: 'contact', clientId: 'o-1', name: 'Olga', email: 'olga@example.com' });
    v.send({ type: 'message', clientId: 'o-2', text: 'Please call me back tomorrow' });
    await v.next('ack', (f) => f.clientId === 'o-2');
    const owner = (await holder('webchat', await chatOf(hello.visitor)))!;
    expect(owner.owner_type).toBe('lead');
    expect(await holder('email', 'olga@example.com')).toEqual(owner);
    expect((await q('SELECT name FROM leads WHERE id = $1', [owner.owner_id]))[0]).toEqual({ name: 'Olga' });
    await t.db.query("UPDATE operators SET status = 'online'");
    await v.close();
  });

  it('connected visitors are told live when their region gets its first operator online or loses its last', async () => {
    const spb = (await q<{ id: number }>("SELECT id FROM regions WHERE code = 'spb'"))[0]!.id;
    await upsertWidget(t.db, shopWidget({ key: 'spb', regionId: spb }));
    const presence = async (login: string, status: string) => {
      const r = await a.app.inject({
        method: 'PATCH',
        url: '/v1/operators/me/status',
        headers: bearer(a.tokens[login]!),
        payload: { status },
      });
      expect(r.statusCode, r.body).toBe(200);
    };
    // One visitor on a widget of Saint Petersburg (vera alone), one on a widget of no region (anyone answers).
    const regional = visitor(a.wsUrl, { widget: 'spb' });
    const anywhere = visitor(a.wsUrl, { widget: 'shop' });
    expect((await regional.next('hello')).online).toBe(true);
    expect((await anywhere.next('hello')).online).toBe(true);
    const told = (v: typeof regional) => v.frames.filter((f) => f.type === 'online').map((f) => f.online);

    await presence('vera', 'away');
    expect(await regional.next('online')).toEqual({ type: 'online', online: false });
    // Anna and Boris are still there for the widget without a region: its visitor hears nothing.
    await presence('anna', 'offline');
    await presence('boris', 'offline');
    expect(await anywhere.next('online')).toEqual({ type: 'online', online: false });
    expect(told(regional)).toEqual([false]);

    await presence('vera', 'online');
    expect(await regional.next('online', (f) => f.online === true)).toEqual({ type: 'online', online: true });
    expect(await anywhere.next('online', (f) => f.online === true)).toEqual({ type: 'online', online: true });
    // A second operator coming online changes nothing the widgets show: no frame.
    await presence('anna', 'online');
    await presence('boris', 'online');
    await new Promise((r) => setTimeout(r, 300));
    expect(told(regional)).toEqual([false, true]);
    expect(told(anywhere)).toEqual([false, true]);
    // The admin moving vera out of Saint Petersburg leaves its widget without anybody, as going offline would.
    const moscow = (await q<{ id: number }>("SELECT id FROM regions WHERE code = 'msk'"))[0]!.id;
    const moved = await a.app.inject({
      method: 'PATCH',
      url: `/v1/admin/operators/${a.ops.vera}`,
      headers: bearer(ADMIN_TOKEN),
      payload: { regionIds: [moscow] },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(await regional.next('online', (f) => f.online === false)).toEqual({
      type: 'online',
      online: false,
    });
    await Promise.all([regional.close(), anywhere.close()]);
  });
});

describe.skipIf(!(await pgAvailable()))('live chat: rate limits on PostgreSQL', () => {
  let t: TestDatabase;
  let a: LivechatTestApp;

  beforeAll(async () => {
    t = await createTestPg();
    a = await buildLivechatApp(t, { visitorPerMinute: 3, ipPerMinute: 5 });
  });
  afterAll(async () => {
    await a?.close();
    await t?.drop();
  });

  it('limits each visitor and each address; a refused message is not published', async () => {
    const one = visitor(a.wsUrl, { widget: 'shop' });
    await one.next('hello');
    for (const n of [1, 2, 3, 4]) one.send({ type: 'message', clientId: `a-${n}`, text: `message ${n}` });
    for (const n of [1, 2, 3]) await one.next('ack', (f) => f.clientId === `a-${n}`);
    const limited = await one.next('error');
    expect(limited).toMatchObject({
      code: 'RATE_LIMITED',
      clientId: 'a-4',
      retryAfterSec: expect.any(Number),
    });
    expect(limited.retryAfterSec).toBeGreaterThanOrEqual(1);
    // Another visitor from the same address: the address has 2 of its 5 left.
    const two = visitor(a.wsUrl, { widget: 'shop' });
    await two.next('hello');
    for (const n of [1, 2, 3]) two.send({ type: 'message', clientId: `b-${n}`, text: `other ${n}` });
    await two.next('ack', (f) => f.clientId === 'b-1');
    await two.next('ack', (f) => f.clientId === 'b-2');
    expect(await two.next('error')).toMatchObject({ code: 'RATE_LIMITED', clientId: 'b-3' });
    const texts = (
      await t.db.query<{ text: string }>("SELECT text FROM messages WHERE channel = 'webchat' ORDER BY id")
    ).rows;
    expect(texts.map((r) => r.text)).toEqual(['message 1', 'message 2', 'message 3', 'other 1', 'other 2']);
    await Promise.all([one.close(), two.close()]);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, apiBackends, bearer } from '../../support/api-app.js';
import { buildConversationApp, type ConversationTestApp } from '../../support/conversation-app.js';
import type { TestDatabase } from '../../support/db.js';
import { LocalMessenger } from '../../support/local-messenger.js';
import { messageEvent, statusEvent } from '../../support/messages.js';

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`conversation API on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ConversationTestApp;
    const vendor = new LocalMessenger();
    const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      (await t.db.query<R>(sql, params)).rows;

    /** A client writes; returns the conversation and the token of its operator. */
    async function conversation(p: { channel?: 'telegram' | 'whatsapp'; at?: Date } = {}) {
      const chat =
        p.channel === 'whatsapp' ? `7916${Math.floor(1e6 + Math.random() * 8e6)}` : `tg-${randomUUID()}`;
      const e = messageEvent({
        channel: p.channel,
        chat,
        id: `${chat}-1`,
        text: 'Hello',
        at: p.at ?? hoursAgo(1),
      });
      expect(await a.router.handle([e])).toEqual({ failed: [] });
      const [c] = await q<{ id: number; responsible_id: number }>(
        'SELECT c.id, a.responsible_id FROM conversations c JOIN activities a ON a.id = c.activity_id WHERE c.chat_id = $1',
        [chat],
      );
      const login = Object.entries(a.ops).find(([, id]) => id === c!.responsible_id)![0];
      return { id: c!.id, chat, headers: bearer(a.tokens[login]!) };
    }
    const send = (id: number, headers: Record<string, string>, payload: object, key?: string) =>
      a.app.inject({
        method: 'POST',
        url: `/v1/conversations/${id}/messages`,
        headers: { ...headers, ...(key === undefined ? {} : { 'idempotency-key': key }) },
        payload,
      });

    beforeAll(async () => {
      await vendor.start();
      t = await backend.make();
      a = await buildConversationApp(t, vendor);
    });
    afterAll(async () => {
      await a?.app.close();
      await a?.outbox.stop();
      await t?.drop();
      await vendor.stop();
    });

    it("lists the operator's conversations, reads one with its messages in order, closes it", async () => {
      const c = await conversation();
      await a.router.handle([
        messageEvent({ chat: c.chat, id: `${c.chat}-2`, text: 'Second', at: hoursAgo(0.5) }),
      ]);
      const list = await a.app.inject({ url: '/v1/conversations?status=open', headers: c.headers });
      expect(list.statusCode).toBe(200);
      expect(list.json().items.map((x: { id: number }) => x.id)).toContain(c.id);
      const one = await a.app.inject({ url: `/v1/conversations/${c.id}`, headers: c.headers });
      expect(one.json()).toMatchObject({
        id: c.id,
        status: 'open',
        channel: 'telegram',
        chatId: c.chat,
        messages: 2,
      });
      expect(one.json().items.map((m: { text: string }) => m.text)).toEqual(['Hello', 'Second']);

      const closed = await a.app.inject({
        method: 'POST',
        url: `/v1/conversations/${c.id}/close`,
        headers: c.headers,
      });
      expect(closed.json()).toMatchObject({ status: 'closed', closedBy: 'operator' });
      expect(
        (
          await q(
            'SELECT state FROM activities a JOIN conversations c ON c.activity_id = a.id WHERE c.id = $1',
            [c.id],
          )
        )[0],
      ).toEqual({ state: 'completed' });
      // The client writes again: a new conversation.
      await a.router.handle([messageEvent({ chat: c.chat, id: `${c.chat}-3`, text: 'Third' })]);
      expect(await q('SELECT status FROM conversations WHERE chat_id = $1 ORDER BY id', [c.chat])).toEqual([
        { status: 'closed' },
        { status: 'open' },
      ]);
      expect((await a.app.inject({ url: '/v1/conversations/999999', headers: c.headers })).statusCode).toBe(
        404,
      );
    });

    it('replies once per Idempotency-Key: recorded, sent, the vendor id stored; a different reply with the key is a 409', async () => {
      const c = await conversation();
      const before = vendor.deliveries.length;
      const first = await send(c.id, c.headers, { text: 'We will call you' }, 'k-1');
      expect(first.statusCode).toBe(201);
      expect(first.json()).toMatchObject({ status: 'sent', conversationId: c.id });
      const again = await send(c.id, c.headers, { text: 'We will call you' }, 'k-1');
      expect(again.statusCode).toBe(201);
      expect(again.json()).toMatchObject({ replayed: true, messageId: first.json().messageId });
      expect(vendor.deliveries.length).toBe(before + 1);
      expect(vendor.deliveries.at(-1)).toMatchObject({ chatId: c.chat, text: 'We will call you' });
      expect((await send(c.id, c.headers, { text: 'Something else' }, 'k-1')).json().error).toMatchObject({
        code: 'CONFLICT',
        fields: ['idempotency-key'],
      });
      const [m] = await q(
        'SELECT direction, status, vendor_message_id, operator_id FROM messages WHERE id = $1',
        [first.json().messageId],
      );
      expect(m).toMatchObject({
        direction: 'outbound',
        status: 'sent',
        vendor_message_id: vendor.deliveries.at(-1)!.messageId,
      });
      expect(
        await q('SELECT vendor_response FROM messenger_outbox WHERE message_id = $1', [
          first.json().messageId,
        ]),
      ).toEqual([{ vendor_response: { ok: true, messageId: vendor.deliveries.at(-1)!.messageId } }]);
      // The operator answered: the conversation's activity no longer waits.
      expect(
        (
          await q(
            'SELECT state FROM activities a JOIN conversations c ON c.activity_id = a.id WHERE c.id = $1',
            [c.id],
          )
        )[0],
      ).toEqual({ state: 'completed' });
    });

    it('names the field: no Idempotency-Key, nothing to send; the admin token cannot reply', async () => {
      const c = await conversation();
      const noKey = await send(c.id, c.headers, { text: 'x' });
      expect(noKey.statusCode).toBe(400);
      expect(noKey.json().error.fields).toEqual(['idempotency-key']);
      const empty = await send(c.id, c.headers, {}, 'k-empty');
      expect(empty.statusCode).toBe(400);
      expect(empty.json().error.fields).toEqual(['text']);
      expect((await send(c.id, admin, { text: 'x' }, 'k-admin')).statusCode).toBe(403);
    });

    it('WhatsApp outside the 24-hour window: 409 WINDOW_CLOSED unless a template is given', async () => {
      const c = await conversation({ channel: 'whatsapp', at: hoursAgo(25) });
      const before = vendor.deliveries.length;
      const closed = await send(c.id, c.headers, { text: 'Still there?' }, 'wa-1');
      expect(closed.statusCode).toBe(409);
      expect(closed.json().error).toMatchObject({ code: 'WINDOW_CLOSED', fields: ['template'] });
      expect(await q('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [c.id])).toEqual([
        { n: 1 },
      ]);
      const template = { name: 'order_update', language: 'en_US', parameters: ['42'] };
      const ok = await send(c.id, c.headers, { template }, 'wa-2');
      expect(ok.statusCode).toBe(201);
      expect(vendor.deliveries.slice(before)).toMatchObject([{ chatId: c.chat, template }]);
      // Within the window free text goes.
      const fresh = await conversation({ channel: 'whatsapp', at: hoursAgo(2) });
      expect((await send(fresh.id, fresh.headers, { text: 'Hi' }, 'wa-3')).statusCode).toBe(201);
    });

    it('a rate-limited send is retried by the worker; a block is final, with the vendor error on the message', async () => {
      const c = await conversation();
      vendor.script.push({
        status: 429,
        retryAfter: 0,
        body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 0' },
      });
      const r = await send(c.id, c.headers, { text: 'Later' }, 'rl-1');
      expect(r.statusCode).toBe(202);
      expect(r.json()).toMatchObject({ status: 'retrying' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await a.outbox.runOnce()).attempted).toBe(1);
      expect((await q('SELECT status FROM messages WHERE id = $1', [r.json().messageId]))[0]).toEqual({
        status: 'sent',
      });

      vendor.script.push({
        status: 403,
        body: { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' },
      });
      const blocked = await send(c.id, c.headers, { text: 'Hello?' }, 'bl-1');
      expect(blocked.statusCode).toBe(422);
      expect(blocked.json()).toMatchObject({
        status: 'failed',
        error: { message: expect.stringContaining('blocked') },
      });
      expect(
        (await q('SELECT status, error FROM messages WHERE id = $1', [blocked.json().messageId]))[0],
      ).toEqual({
        status: 'failed',
        error: { code: 'blocked', message: 'Forbidden: bot was blocked by the user' },
      });
      expect((await a.outbox.runOnce()).attempted).toBe(0);
    });

    it("a delivery report that overtakes the vendor's answer to our send still applies", async () => {
      const c = await conversation();
      vendor.hold();
      const received = vendor.nextReceived();
      const pending = send(c.id, c.headers, { text: 'Your order shipped' }, 'st-1');
      await received;
      const id = vendor.deliveries.at(-1)!.messageId;
      expect(await a.router.handle([statusEvent({ id, status: 'delivered' })])).toEqual({ failed: [] });
      vendor.release();
      const r = await pending;
      expect(r.statusCode).toBe(201);
      expect((await q('SELECT status FROM messages WHERE id = $1', [r.json().messageId]))[0]).toEqual({
        status: 'delivered',
      });
      await a.router.handle([statusEvent({ id, status: 'read' }), statusEvent({ id, status: 'sent' })]);
      expect((await q('SELECT status FROM messages WHERE id = $1', [r.json().messageId]))[0]).toEqual({
        status: 'read',
      });
    });

    it("an echo of our reply routed before the vendor's answer is folded into the reply, with its status", async () => {
      const c = await conversation();
      vendor.hold();
      const received = vendor.nextReceived();
      const pending = send(c.id, c.headers, { text: 'On its way' }, 'echo-1');
      await received;
      const id = vendor.deliveries.at(-1)!.messageId;
      // The vendor echoes our own message (VK message_reply, an Instagram echo) and reports it delivered, all
      // before its answer to our send comes back: the router records the echo as an outbound message.
      const echo = messageEvent({ chat: c.chat, id, text: 'On its way', direction: 'outbound' });
      expect(await a.router.handle([echo, statusEvent({ id, status: 'delivered' })])).toEqual({ failed: [] });
      expect(await q('SELECT count(*)::int AS n FROM messages WHERE vendor_message_id = $1', [id])).toEqual([
        { n: 1 },
      ]);
      vendor.release();
      const r = await pending;
      expect(r.statusCode).toBe(201);
      expect(
        await q(
          'SELECT id::int, status FROM messages WHERE conversation_id = $1 AND vendor_message_id = $2',
          [c.id, id],
        ),
      ).toEqual([{ id: Number(r.json().messageId), status: 'delivered' }]);
    });

    it("downloads a client's file through the vendor's API on demand", async () => {
      const c = await conversation();
      vendor.files.set('file-1', { body: Buffer.from('%PDF-1.4 test'), type: 'application/pdf' });
      await a.router.handle([
        messageEvent({
          chat: c.chat,
          id: `${c.chat}-doc`,
          attachments: [
            {
              kind: 'document',
              fileId: 'file-1',
              name: 'invoice.pdf',
              mimeType: 'application/pdf',
              size: 13,
            },
          ],
        }),
      ]);
      const [m] = await q<{ id: number }>('SELECT id FROM messages WHERE vendor_message_id = $1', [
        `${c.chat}-doc`,
      ]);
      const r = await a.app.inject({
        url: `/v1/conversations/${c.id}/messages/${m!.id}/attachments/0`,
        headers: c.headers,
      });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('application/pdf');
      expect(r.body).toBe('%PDF-1.4 test');
      expect(r.headers['content-disposition']).toContain('invoice.pdf');
      const none = await a.app.inject({
        url: `/v1/conversations/${c.id}/messages/${m!.id}/attachments/1`,
        headers: c.headers,
      });
      expect(none.statusCode).toBe(404);
    });
  });
}

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../app/demo-seed.js';
import { operatorCounters } from '../../crm-core/repositories/activity.repository.js';
import { closeIdleConversations } from '../../crm-core/repositories/conversation.repository.js';
import { createLogger } from '../../lib/logger.js';
import { createRouter, type Router } from '../../router/router.js';
import { createTestPg, createTestPglite, type TestDatabase } from '../support/db.js';
import { formEvent } from '../support/events.js';
import { messageEvent, statusEvent } from '../support/messages.js';
import { pgAvailable } from '../support/services.js';

const logger = createLogger({ level: 'silent' });
const backends = [
  { name: 'PGlite', make: createTestPglite, available: true },
  { name: 'PostgreSQL', make: () => createTestPg(), available: await pgAvailable() },
];
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

for (const backend of backends) {
  describe.skipIf(!backend.available)(`conversations on ${backend.name}`, () => {
    let t: TestDatabase;
    let router: Router;
    const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      (await t.db.query<R>(sql, params)).rows;
    const count = async (sql: string, params: unknown[] = []) =>
      (await q<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params))[0]!.n;
    const route = async (...events: Parameters<Router['handle']>[0]) =>
      expect(await router.handle(events)).toEqual({ failed: [] });
    const conversationsOf = (chat: string) =>
      q<{
        id: number;
        status: string;
        owner_type: string;
        owner_id: number | null;
        activity_id: number;
        closed_by: string | null;
        closed_at: Date | null;
        last_inbound_at: Date | null;
      }>('SELECT * FROM conversations WHERE chat_id = $1 ORDER BY id', [chat]);
    const messagesOf = (conversationId: number) =>
      q<{ vendor_message_id: string; text: string; direction: string; status: string | null }>(
        'SELECT * FROM messages WHERE conversation_id = $1 ORDER BY occurred_at, id',
        [conversationId],
      );
    const activity = async (id: number) =>
      (
        await q<{
          owner_type: string;
          owner_id: number;
          type: string;
          state: string;
          deadline: Date | null;
          responsible_id: number | null;
          body: string;
        }>('SELECT * FROM activities WHERE id = $1', [id])
      )[0]!;

    beforeAll(async () => {
      t = await backend.make();
      await seedDemo(t.db);
      router = createRouter({
        db: t.db,
        logger,
        callbackDeadlineMin: 30,
        meaningfulCallSec: 60,
        conversationIdleHours: 24,
        defaultCountry: 'RU',
      });
    });
    afterAll(async () => t?.drop());

    it("a new client's first message creates one lead and opens a conversation the operator's counters see", async () => {
      const chat = `tg-${randomUUID()}`;
      const leads = await count('leads');
      const at = hoursAgo(2);
      await route(messageEvent({ chat, id: `${chat}-1`, text: 'Hello', name: 'Olga', at }));
      expect(await count('leads')).toBe(leads + 1);
      const [c] = await conversationsOf(chat);
      expect(c).toMatchObject({ status: 'open', owner_type: 'lead' });
      const a = await activity(c!.activity_id);
      // Unanswered for 2 h with a 30 min deadline: overdue on the operator's counters.
      expect(a).toMatchObject({ type: 'message', state: 'planned', owner_type: 'lead', body: 'Hello' });
      expect(a.responsible_id).not.toBeNull();
      expect(+a.deadline!).toBe(+at + 30 * 60_000);
      const counters = await operatorCounters(t.db, a.responsible_id!, new Date());
      expect(counters.overdue).toBeGreaterThanOrEqual(1);

      // Later messages join the conversation; no second lead.
      await route(messageEvent({ chat, id: `${chat}-2`, text: 'Anyone?', at: hoursAgo(1) }));
      expect(await count('leads')).toBe(leads + 1);
      expect(await conversationsOf(chat)).toHaveLength(1);
      expect((await messagesOf(c!.id)).map((m) => m.text)).toEqual(['Hello', 'Anyone?']);
      // The operator answered from the vendor's app: stored as outbound, the wait is over.
      await route(
        messageEvent({ chat, id: `${chat}-3`, text: 'Here!', direction: 'outbound', at: hoursAgo(0.5) }),
      );
      expect(await messagesOf(c!.id)).toMatchObject([
        { direction: 'inbound' },
        { direction: 'inbound' },
        { direction: 'outbound', status: 'sent', text: 'Here!' },
      ]);
      expect((await activity(c!.activity_id)).state).toBe('completed');
      expect(await operatorCounters(t.db, a.responsible_id!, new Date())).toMatchObject({
        overdue: counters.overdue - 1,
      });
      expect(await count('leads')).toBe(leads + 1);
    });

    it('a redelivered update changes nothing; an edit replaces the text, the newest edit winning', async () => {
      const chat = `tg-${randomUUID()}`;
      const first = messageEvent({ chat, id: `${chat}-1`, text: 'I want a red one', at: hoursAgo(3) });
      await route(first);
      const [c] = await conversationsOf(chat);
      const before = await q('SELECT * FROM messages WHERE conversation_id = $1', [c!.id]);
      await route(first);
      // The same vendor message under another update id (a vendor's duplicate) is the same message too.
      await route({ ...first, id: randomUUID(), externalId: `${first.externalId}-dup` });
      expect(await q('SELECT * FROM messages WHERE conversation_id = $1', [c!.id])).toEqual(before);

      const editedAt = hoursAgo(1);
      const late = messageEvent({
        chat,
        id: `${chat}-1`,
        text: 'I want a blue one',
        edited: true,
        at: editedAt,
      });
      const early = messageEvent({
        chat,
        id: `${chat}-1`,
        text: 'I want a green one',
        edited: true,
        at: hoursAgo(2),
      });
      await route(late);
      await route(early);
      const msgs = await q<{ text: string; edited_at: Date }>(
        'SELECT text, edited_at FROM messages WHERE conversation_id = $1',
        [c!.id],
      );
      expect(msgs).toHaveLength(1);
      expect(msgs[0]!.text).toBe('I want a blue one');
      expect(+msgs[0]!.edited_at).toBe(+editedAt);
    });

    it('a message after CONVERSATION_IDLE_HOURS closes the conversation and opens a new one', async () => {
      const chat = `tg-${randomUUID()}`;
      await route(messageEvent({ chat, id: `${chat}-1`, text: 'first', at: hoursAgo(30) }));
      await route(messageEvent({ chat, id: `${chat}-2`, text: 'again', at: hoursAgo(29) }));
      await route(messageEvent({ chat, id: `${chat}-3`, text: 'back after a day', at: hoursAgo(1) }));
      const [old, now] = await conversationsOf(chat);
      expect(old).toMatchObject({ status: 'closed', closed_by: 'idle' });
      expect(+old!.closed_at!).toBeCloseTo(+hoursAgo(29) + 24 * 3_600_000, -4);
      expect(now).toMatchObject({ status: 'open', owner_type: old!.owner_type, owner_id: old!.owner_id });
      expect(now!.activity_id).not.toBe(old!.activity_id);
      expect((await activity(old!.activity_id)).state).toBe('completed');
      expect((await messagesOf(now!.id)).map((m) => m.text)).toEqual(['back after a day']);
      // Both in one batch: the same.
      const chat2 = `tg-${randomUUID()}`;
      await route(
        messageEvent({ chat: chat2, id: `${chat2}-1`, text: 'a', at: hoursAgo(50) }),
        messageEvent({ chat: chat2, id: `${chat2}-2`, text: 'b', at: hoursAgo(2) }),
      );
      expect((await conversationsOf(chat2)).map((c) => c.status)).toEqual(['closed', 'open']);
    });

    it('the idle sweep closes a conversation without messages, completing its wait; the next message opens another', async () => {
      const chat = `tg-${randomUUID()}`;
      await route(messageEvent({ chat, id: `${chat}-1`, text: 'anyone?', at: hoursAgo(26) }));
      const [open] = await conversationsOf(chat);
      expect((await activity(open!.activity_id)).state).toBe('planned');
      expect(await closeIdleConversations(t.db, 24, new Date())).toBeGreaterThanOrEqual(1);
      const [closed] = await conversationsOf(chat);
      expect(closed).toMatchObject({ status: 'closed', closed_by: 'idle' });
      expect(+closed!.closed_at!).toBe(
        +new Date(Date.parse(open!.last_inbound_at!.toISOString()) + 24 * 3_600_000),
      );
      expect((await activity(open!.activity_id)).state).toBe('completed');
      await route(messageEvent({ chat, id: `${chat}-2`, text: 'hello?' }));
      expect((await conversationsOf(chat)).map((c) => c.status)).toEqual(['closed', 'open']);
    });

    it('a chat the business opened from its app waits in the queue, then follows the client who answers', async () => {
      const chat = `tg-${randomUUID()}`;
      const leads = await count('leads');
      await route(
        messageEvent({
          chat,
          id: `${chat}-1`,
          text: 'Your order is ready',
          direction: 'outbound',
          at: hoursAgo(2),
        }),
      );
      expect(await count('leads')).toBe(leads);
      const [queued] = await conversationsOf(chat);
      expect(queued).toMatchObject({ owner_type: 'queue', owner_id: null });
      await route(messageEvent({ chat, id: `${chat}-2`, text: 'Thanks', at: hoursAgo(1) }));
      expect(await count('leads')).toBe(leads + 1);
      const [c] = await conversationsOf(chat);
      expect(c).toMatchObject({ id: queued!.id, owner_type: 'lead' });
      expect(await activity(c!.activity_id)).toMatchObject({ owner_type: 'lead', owner_id: c!.owner_id });
      // The conversation is the lead's operator's, whoever the queue had given it to.
      const [lead] = await q<{ responsible_id: number }>('SELECT responsible_id FROM leads WHERE id = $1', [
        c!.owner_id,
      ]);
      expect((await activity(c!.activity_id)).responsible_id).toBe(lead!.responsible_id);
      expect(await messagesOf(c!.id)).toHaveLength(2);
    });

    it("a messenger account's own region and source (meta.accountRegionId / accountSource) go on the new lead", async () => {
      const [region] = await q<{ id: number }>(`SELECT id FROM regions WHERE name = 'Saint Petersburg'`);
      const chat = `tg-${randomUUID()}`;
      await route(
        messageEvent({
          chat,
          id: `${chat}-1`,
          text: 'hi',
          meta: { accountRegionId: region!.id, accountSource: 'spb bot' },
        }),
      );
      const [c] = await conversationsOf(chat);
      expect(await q('SELECT region_id, source_name FROM leads WHERE id = $1', [c!.owner_id])).toEqual([
        { region_id: region!.id, source_name: 'spb bot' },
      ]);
    });

    it('a WhatsApp message from a number that filled a form lands on that lead', async () => {
      const phone = `7916${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
      await route(formEvent({ phone: `8${phone.slice(1)}`, name: 'Petr', region: 'Moscow' }));
      const [lead] = await q<{ owner_id: number }>(
        `SELECT owner_id FROM identities WHERE kind = 'phone' AND value = $1`,
        [`+${phone}`],
      );
      const leads = await count('leads');
      await route(
        messageEvent({
          channel: 'whatsapp',
          chat: phone,
          id: `wamid.${randomUUID()}`,
          text: 'Hi, about my request',
        }),
      );
      expect(await count('leads')).toBe(leads);
      const [c] = await conversationsOf(phone);
      expect(c).toMatchObject({ owner_type: 'lead', owner_id: lead!.owner_id, channel: 'whatsapp' });
      expect(c!.last_inbound_at).not.toBeNull();
    });

    it("a contact shared in the chat joins the chat's lead onto the caller's client: no second lead", async () => {
      const phone = `+7495${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
      await route(formEvent({ phone, name: 'Caller' }));
      const [{ owner_id: callerLead }] = (await q<{ owner_id: number }>(
        `SELECT owner_id FROM identities WHERE kind = 'phone' AND value = $1`,
        [phone],
      )) as [{ owner_id: number }];
      const chat = `tg-${randomUUID()}`;
      await route(messageEvent({ chat, id: `${chat}-1`, text: '/start', at: hoursAgo(1) }));
      const chatLead = (await conversationsOf(chat))[0]!.owner_id!;
      expect(chatLead).not.toBe(callerLead);
      const open = await count(`leads WHERE status IN ('new', 'in_progress')`);
      // Telegram sends the number without "+": the router normalises it like any phone.
      await route(
        messageEvent({
          chat,
          id: `${chat}-2`,
          at: hoursAgo(0.5),
          sharedContact: { phone: phone.slice(1), ownPhone: true, name: 'Me' },
        }),
      );
      expect(await count(`leads WHERE status IN ('new', 'in_progress')`)).toBe(open - 1);
      expect(await q('SELECT status FROM leads WHERE id = $1', [chatLead])).toEqual([{ status: 'junk' }]);
      expect(
        await q(`SELECT owner_type, owner_id FROM identities WHERE kind = 'telegram' AND value = $1`, [chat]),
      ).toEqual([{ owner_type: 'lead', owner_id: callerLead }]);
      const convs = await conversationsOf(chat);
      expect(convs).toHaveLength(1);
      expect(convs[0]).toMatchObject({ owner_type: 'lead', owner_id: callerLead });
      expect(await messagesOf(convs[0]!.id)).toHaveLength(2);
      // The caller's history now holds the form and the conversation.
      expect(
        (
          await q<{ type: string }>(
            `SELECT type FROM activities WHERE owner_type = 'lead' AND owner_id = $1 ORDER BY id`,
            [callerLead],
          )
        ).map((a) => a.type),
      ).toEqual(['form', 'message']);
      expect(await count('duplicate_candidates WHERE other_id = $1 AND resolved', [chatLead])).toBe(1);
    });

    it('a contact shared by a chat whose client has history of its own is recorded as a duplicate candidate', async () => {
      const phone = `+7495${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
      await route(formEvent({ phone, name: 'Caller' }));
      const chat = `tg-${randomUUID()}`;
      await route(messageEvent({ chat, id: `${chat}-1`, text: 'hi', at: hoursAgo(1) }));
      const chatLead = (await conversationsOf(chat))[0]!.owner_id!;
      await t.db.query(
        `INSERT INTO activities (owner_type, owner_id, type, state, subject) VALUES ('lead', $1, 'meeting', 'completed', 'met')`,
        [chatLead],
      );
      const leads = await count('leads');
      await route(
        messageEvent({ chat, id: `${chat}-2`, at: hoursAgo(0.5), sharedContact: { phone, ownPhone: true } }),
      );
      expect(await count('leads')).toBe(leads);
      expect(await q('SELECT status FROM leads WHERE id = $1', [chatLead])).toEqual([{ status: 'new' }]);
      expect((await conversationsOf(chat))[0]).toMatchObject({ owner_id: chatLead });
      expect(
        await q(
          `SELECT chosen_type, chosen_id, other_type, identity_kind, resolved FROM duplicate_candidates WHERE chosen_id = $1 AND chosen_type = 'lead'`,
          [chatLead],
        ),
      ).toEqual([
        {
          chosen_type: 'lead',
          chosen_id: chatLead,
          other_type: 'lead',
          identity_kind: 'phone',
          resolved: false,
        },
      ]);
    });

    it('delivery statuses never move backwards, in any order, and one that overtakes its message waits for it', async () => {
      const chat = `tg-${randomUUID()}`;
      const statusOf = async (id: string) =>
        (
          await q<{ status: string; error: unknown }>(
            'SELECT status, error FROM messages WHERE vendor_message_id = $1',
            [id],
          )
        )[0];
      await route(messageEvent({ chat, id: `${chat}-in`, text: 'hi', at: hoursAgo(1) }));
      await route(
        messageEvent({ chat, id: `${chat}-out`, text: 'hello', direction: 'outbound', at: hoursAgo(0.9) }),
      );
      await route(statusEvent({ id: `${chat}-out`, status: 'read' }));
      await route(
        statusEvent({ id: `${chat}-out`, status: 'delivered' }),
        statusEvent({ id: `${chat}-out`, status: 'sent' }),
      );
      expect(await statusOf(`${chat}-out`)).toMatchObject({ status: 'read' });
      await route(
        statusEvent({
          id: `${chat}-out`,
          status: 'failed',
          error: { code: '131047', message: 'late failure' },
        }),
      );
      expect(await statusOf(`${chat}-out`)).toMatchObject({ status: 'read', error: null });

      // failed is final unless delivered/read proves otherwise
      await route(
        messageEvent({ chat, id: `${chat}-out2`, text: 'x', direction: 'outbound', at: hoursAgo(0.8) }),
      );
      await route(
        statusEvent({
          id: `${chat}-out2`,
          status: 'failed',
          error: { code: '131026', message: 'undeliverable' },
        }),
      );
      expect(await statusOf(`${chat}-out2`)).toMatchObject({
        status: 'failed',
        error: { code: '131026', message: 'undeliverable' },
      });
      await route(statusEvent({ id: `${chat}-out2`, status: 'sent' }));
      expect((await statusOf(`${chat}-out2`))!.status).toBe('failed');
      await route(statusEvent({ id: `${chat}-out2`, status: 'delivered' }));
      expect((await statusOf(`${chat}-out2`))!.status).toBe('delivered');

      // A status about a message not stored yet is kept, and applied when the message arrives.
      await route(statusEvent({ id: `${chat}-out3`, status: 'delivered' }));
      expect(await count('message_statuses_pending WHERE vendor_message_id = $1', [`${chat}-out3`])).toBe(1);
      await route(
        messageEvent({ chat, id: `${chat}-out3`, text: 'y', direction: 'outbound', at: hoursAgo(0.7) }),
      );
      expect((await statusOf(`${chat}-out3`))!.status).toBe('delivered');
      expect(await count('message_statuses_pending WHERE vendor_message_id = $1', [`${chat}-out3`])).toBe(0);
    });
  });
}

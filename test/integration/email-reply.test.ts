import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { SendMailOptions } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import { repliesApi } from '../../api/replies.js';
import { loadConfig } from '../../app/config.js';
import { type DemoSeedResult, seedDemo } from '../../app/demo-seed.js';
import type { Subscription } from '../../bus/bus.js';
import { createMemoryBus } from '../../bus/memory-bus.js';
import { isOwnMessageId } from '../../channels/email/message-id.js';
import type { MailboxSettings } from '../../channels/settings.js';
import { createEmailConnector, type EmailConnector } from '../../connectors/email/index.js';
import type { ActivityRow } from '../../crm-core/repositories/activity.repository.js';
import {
  channelSettings,
  cursorStore,
  getMailbox,
  insertMailbox,
} from '../../crm-core/repositories/channel-settings.repository.js';
import {
  getOutboundEmailByActivity,
  type OutboundEmailRow,
} from '../../crm-core/repositories/outbound-email.repository.js';
import { createLogger } from '../../lib/logger.js';
import { createReply } from '../../outbound/email-reply.js';
import { createOutbox, type Outbox } from '../../outbound/outbox-worker.js';
import { createRouter, type Router } from '../../router/router.js';
import { createTestPg, createTestPglite, type TestDatabase } from '../support/db.js';
import { formEvent } from '../support/events.js';
import { dropFolders, imapClient, SMTP_PORT, smtp, smtpAvailable, waitFor } from '../support/mail-harness.js';
import { closedPort, connectorEvent, createFolders, messagesIn, rawMail } from '../support/mail-reply.js';
import { IMAP_PORT, imapAvailable, pgAvailable } from '../support/services.js';

/**
 * Operator replies end to end on the real Dovecot + SMTP sink (scripts/dovecot.sh): POST /v1/activities/:id/reply
 * -> outbox -> nodemailer -> sink -> the client's folder, the copy in Sent over IMAP, the outbound activity, and
 * the client's answer back through the IMAP connector and the router onto the same owner.
 * Uses the IMAP user inbox@example.test, folders of its own per run (sub-addressing: inbox+<folder>@example.test).
 */
const USER = 'inbox@example.test';
const ADMIN_TOKEN = 'reply-test-admin-token-0123456789';
const ok = (await imapAvailable()) && (await smtpAvailable());
const backends = [
  { name: 'PGlite', make: createTestPglite, available: true },
  { name: 'PostgreSQL', make: () => createTestPg(), available: ok && (await pgAvailable()) },
];
const addr = (folder: string) => `inbox+${folder}@example.test`;

for (const backend of backends) {
  describe.skipIf(!ok || !backend.available)(`email replies (${backend.name})`, () => {
    const run = `${backend.name === 'PGlite' ? 'l' : 'p'}${randomBytes(3).toString('hex')}`;
    const used = new Set<string>();
    /** This run's folder of the given name (deleted at the end). */
    const f = (name: string) => {
      const folder = `r${run}${name}`;
      used.add(folder);
      return folder;
    };
    const config = loadConfig({ ADMIN_TOKEN, LOG_LEVEL: 'silent' });
    const logger = createLogger({ level: 'silent' });
    let t: TestDatabase;
    let seed: DemoSeedResult;
    let router: Router;
    let subscription: Subscription;
    let connector: EmailConnector;
    let outbox: Outbox;
    let app: FastifyInstance;
    let watched: MailboxSettings;
    let uid = 1;
    const stops: (() => Promise<unknown>)[] = [];

    const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
      (await t.db.query<R>(sql, params)).rows;
    const anna = () => seed.operators.find((o) => o.login === 'anna')!;
    const auth = (token = anna().token) => ({ authorization: `Bearer ${token}` });
    const post = (id: number, payload: unknown, headers: Record<string, string> = auth()) =>
      app.inject({ method: 'POST', url: `/v1/activities/${id}/reply`, headers, payload: payload as object });
    const activity = async (id: number) =>
      (await q<ActivityRow>('SELECT * FROM activities WHERE id = $1', [id]))[0]!;
    const byMessageId = async (messageId: string) =>
      (await q<ActivityRow>('SELECT * FROM activities WHERE message_id = $1 ORDER BY id', [messageId]))[0];
    const outboundOf = async (activityId: number) => (await getOutboundEmailByActivity(t.db, activityId))!;
    const waitRow = (activityId: number, what: string, cond: (r: OutboundEmailRow) => boolean, ms = 15_000) =>
      waitFor(what, async () => cond(await outboundOf(activityId)), ms);
    const copiesOf = async (f: string, messageId: string) =>
      (await messagesIn(USER, f)).filter((m) => m.messageId === messageId);

    async function mailbox(
      name: string,
      smtpSettings: Record<string, unknown> | null,
      over: Partial<MailboxSettings> = {},
    ): Promise<MailboxSettings> {
      const id = await insertMailbox(t.db, {
        name: `Reply test ${name}`,
        address: addr(f(name)),
        imap: { host: '127.0.0.1', port: IMAP_PORT, secure: false, user: USER, password: 'secret' },
        smtp: smtpSettings as MailboxSettings['smtp'],
        folders: [f(name)],
        processed: { action: 'none' },
        attachmentMaxBytes: 1 << 20,
        // Only the first mailbox is watched by the connector; the others get their mail through connectorEvent.
        active: false,
        ...over,
      });
      return (await getMailbox(t.db, id))!;
    }
    const sink = (sentFolder: string) => ({ host: '127.0.0.1', port: SMTP_PORT, secure: false, sentFolder });

    /** A client's email in `box`, routed the way the connector publishes it; returns its activity. */
    async function inbound(box: MailboxSettings, mail: SendMailOptions): Promise<ActivityRow> {
      const raw = await rawMail({ to: box.address, subject: 'Question', text: 'Hello', ...mail });
      const event = await connectorEvent(raw, box, box.folders[0]!, uid++);
      await router.handle([event]);
      return (await q<ActivityRow>('SELECT * FROM activities WHERE event_id = $1', [event.id]))[0]!;
    }

    beforeAll(async () => {
      t = await backend.make();
      seed = (await seedDemo(t.db))!;
      router = createRouter({ db: t.db, logger, callbackDeadlineMin: 30, meaningfulCallSec: 60 });
      const bus = createMemoryBus({ logger });
      subscription = await bus.subscribe(router.handle);
      stops.push(() => bus.close());
      await createFolders(USER, [f('main'), f('sent')]);
      watched = await mailbox('main', sink(f('sent')), { active: true });
      connector = createEmailConnector(
        { config, logger, bus, settings: channelSettings(t.db), cursors: cursorStore(t.db) },
        { pollIntervalMs: 60_000, socketTimeoutMs: 120_000, refreshIntervalMs: 300, reconnectInitialMs: 200 },
      );
      await connector.start();
      await waitFor('the connector watching the mailbox', async () => {
        const r = await q('SELECT 1 FROM connector_cursors WHERE key = $1', [`${watched.id}:${f('main')}`]);
        return r.length > 0;
      });
      outbox = createOutbox({
        db: t.db,
        logger,
        options: { pollIntervalMs: 100, retryInitialMs: 200, retryMaxMs: 1_000, leaseMs: 3_000 },
      });
      outbox.start();
      app = Fastify(httpOptions());
      registerErrorHandler(app);
      await app.register(repliesApi, { db: t.db, config, outbox });
      await app.ready();
    }, 60_000);

    afterAll(async () => {
      await connector?.stop();
      await outbox?.stop();
      await app?.close();
      await subscription?.stop();
      for (const stop of stops) await stop().catch(() => undefined);
      await t?.drop();
      await dropFolders(USER, [...used]);
    }, 60_000);

    it('sends the reply with threading headers, files a copy in Sent, records it, and threads the answer', async () => {
      const root = `<root.${run}@client.test>`;
      const original = `<question.${run}@client.test>`;
      // A real client mail through SMTP, IMAP IDLE, the connector and the router. Reply-To wins over From.
      await smtp().sendMail({
        from: `Olga <olga.${run}@client.test>`,
        replyTo: addr(f('client')),
        to: watched.address,
        subject: 'Question about delivery',
        text: 'When will my order arrive?',
        messageId: original,
        inReplyTo: root,
        references: [root],
      });
      await waitFor('the client mail routed', async () => !!(await byMessageId(original)), 15_000);
      const question = (await byMessageId(original))!;
      const leadsBefore = (await q('SELECT id FROM leads')).length;

      const r = await post(question.id, { text: 'Hello Olga, tomorrow before noon.' });
      expect(r.statusCode, r.body).toBe(201);
      const body = r.json();
      expect(body).toMatchObject({ status: 'sent', activityId: expect.any(Number) });
      expect(isOwnMessageId(body.messageId)).toBe(true);

      await waitFor(
        'the reply delivered',
        async () => (await messagesIn(USER, f('client'))).length > 0,
        15_000,
      );
      const [delivered, ...more] = await messagesIn(USER, f('client'));
      expect(more).toHaveLength(0);
      expect(delivered).toMatchObject({
        messageId: body.messageId,
        inReplyTo: original,
        references: [root, original],
        subject: 'Re: Question about delivery',
        from: watched.address,
        to: [addr(f('client'))],
        outboundHeader: '1',
      });
      expect(delivered!.text).toContain('tomorrow before noon');

      await waitRow(body.activityId, 'the Sent copy', (row) => row.sent_copy_appended);
      const sent = await copiesOf(f('sent'), body.messageId);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.raw.replace(/^Return-Path.*\r\n|^Received.*\r\n/gm, '')).toContain('Hello Olga');

      const out = await activity(body.activityId);
      expect(out).toMatchObject({
        owner_type: question.owner_type,
        owner_id: question.owner_id,
        type: 'email',
        direction: 'outbound',
        state: 'completed',
        message_id: body.messageId,
        thread_ref: root,
        responsible_id: anna().id,
        subject: 'Re: Question about delivery',
        channel: 'email',
      });
      expect(out.completed_at).not.toBeNull();
      expect(out.details.outbound).toMatchObject({ status: 'sent', attempts: 1, to: [addr(f('client'))] });
      const row = await outboundOf(body.activityId);
      expect(row).toMatchObject({ status: 'sent', attempts: 1, reply_to_activity_id: question.id });

      // The client answers from another address, quoting only our Message-ID: threading alone finds the owner.
      const answer = `<answer.${run}@mail.test>`;
      await smtp().sendMail({
        from: `olga.home.${run}@mail.test`,
        to: watched.address,
        subject: 'Re: Re: Question about delivery',
        text: 'Thank you!',
        messageId: answer,
        inReplyTo: body.messageId,
        references: [body.messageId],
      });
      await waitFor('the answer routed', async () => !!(await byMessageId(answer)), 15_000);
      const routed = (await byMessageId(answer))!;
      expect(routed).toMatchObject({
        owner_type: question.owner_type,
        owner_id: question.owner_id,
        direction: 'inbound',
        thread_ref: body.messageId,
      });
      expect((await q('SELECT id FROM leads')).length).toBe(leadsBefore);
      // Our own message, were it to come back through IMAP, is not an inbound contact: nothing else was routed.
      expect(await q('SELECT id FROM activities WHERE message_id = $1', [body.messageId])).toHaveLength(1);

      // A follow-up to our own reply goes to the same recipients and continues the chain.
      const follow = await post(body.activityId, { text: 'PS: the courier will call first.' });
      expect(follow.statusCode, follow.body).toBe(201);
      const followId = follow.json().messageId;
      await waitFor(
        'the follow-up delivered',
        async () => (await copiesOf(f('client'), followId)).length > 0,
      );
      const [again] = await copiesOf(f('client'), followId);
      expect(again).toMatchObject({
        inReplyTo: body.messageId,
        references: [root, original, body.messageId],
        subject: 'Re: Question about delivery',
        to: [addr(f('client'))],
      });
    });

    it('SMTP down: 202 retrying with the error, and the worker delivers it once SMTP is back', async () => {
      const box = await mailbox('down', {
        host: '127.0.0.1',
        port: await closedPort(),
        secure: false,
        sentFolder: f('downsent'),
      });
      const question = await inbound(box, {
        from: addr(f('downclient')),
        subject: 'Where is my order?',
        messageId: `<down.${run}@example.test>`,
      });
      const r = await post(question.id, { text: 'On its way.' });
      expect(r.statusCode, r.body).toBe(202);
      const body = r.json();
      expect(body).toMatchObject({ status: 'retrying', activityId: expect.any(Number) });
      expect(body.error).toMatch(/ECONNREFUSED|connect/i);
      expect(Date.parse(body.nextAttemptAt)).toBeGreaterThan(Date.now() - 1_000);
      const planned = await activity(body.activityId);
      expect(planned.state).toBe('planned');
      expect(planned.details.outbound).toMatchObject({ status: 'retrying' });
      expect((planned.details.outbound as { lastError: string }).lastError).toMatch(/ECONNREFUSED|connect/i);

      // The worker keeps failing while SMTP is down...
      await waitRow(body.activityId, 'a second attempt', (row) => row.attempts >= 2);
      expect((await outboundOf(body.activityId)).status).not.toBe('sent');
      // ...and delivers once the mailbox points at a working server.
      await q(`UPDATE mailboxes SET smtp = jsonb_set(smtp, '{port}', to_jsonb($2::int)) WHERE id = $1`, [
        box.id,
        SMTP_PORT,
      ]);
      await waitRow(body.activityId, 'sent by the worker', (row) => row.status === 'sent');
      await waitFor('delivered', async () => (await copiesOf(f('downclient'), body.messageId)).length > 0);
      await waitRow(body.activityId, 'the Sent copy', (row) => row.sent_copy_appended);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await copiesOf(f('downclient'), body.messageId)).toHaveLength(1);
      expect(await copiesOf(f('downsent'), body.messageId)).toHaveLength(1);
      const done = await activity(body.activityId);
      expect(done.state).toBe('completed');
      expect(done.details.outbound).toMatchObject({ status: 'sent', lastError: null });
    });

    it('the same Idempotency-Key twice (one after the other, or at once) sends one message', async () => {
      const question = await inbound(watched, {
        from: addr(f('idem')),
        messageId: `<idem.${run}@example.test>`,
      });
      const key = `reply-${run}-1`;
      const first = await post(question.id, { text: 'Once.' }, { ...auth(), 'idempotency-key': key });
      const again = await post(question.id, { text: 'Once.' }, { ...auth(), 'idempotency-key': key });
      expect(first.statusCode, first.body).toBe(201);
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json()).toEqual({ ...first.json(), replayed: true });

      const key2 = `reply-${run}-2`;
      const both = await Promise.all(
        [1, 2].map(() => post(question.id, { text: 'At once.' }, { ...auth(), 'idempotency-key': key2 })),
      );
      expect(both.map((r) => r.statusCode).sort()).toContain(201);
      expect(both[0]!.json().messageId).toBe(both[1]!.json().messageId);
      expect(both[0]!.json().activityId).toBe(both[1]!.json().activityId);

      const conflict = await post(
        question.id,
        { text: 'Something else.' },
        { ...auth(), 'idempotency-key': key },
      );
      expect(conflict.statusCode).toBe(409);
      expect(conflict.json().error.fields).toEqual(['idempotency-key']);

      const ids = [first.json().messageId, both[0]!.json().messageId];
      await waitFor('two messages delivered', async () => (await messagesIn(USER, f('idem'))).length >= 2);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect((await messagesIn(USER, f('idem'))).map((m) => m.messageId).sort()).toEqual([...ids].sort());
      expect(
        await q('SELECT id FROM outbound_emails WHERE reply_to_activity_id = $1', [question.id]),
      ).toHaveLength(2);
    });

    it('an attempt abandoned after SMTP accepted (copy in Sent) is marked sent, not sent again', async () => {
      const question = await inbound(watched, {
        from: addr(f('crash')),
        messageId: `<crash.${run}@example.test>`,
      });
      // The process "dies" holding the claim: the row is written and claimed, the message went out and its copy
      // was filed, but the row was never marked.
      const created = await createReply(
        t.db,
        { activityId: question.id, operatorId: anna().id, text: 'Sent before the crash.' },
        { leaseMs: 60_000 },
      );
      const c = await imapClient(USER);
      await c.append(f('sent'), created.email.raw_message, ['\\Seen']);
      await c.logout();
      await q(`UPDATE outbound_emails SET lease_until = now() - interval '1 second' WHERE id = $1`, [
        created.email.id,
      ]);
      await waitRow(created.email.activity_id, 'taken over and marked sent', (row) => row.status === 'sent');
      const row = await outboundOf(created.email.activity_id);
      expect(row.smtp_response).toMatch(/Sent folder/);
      expect(row.sent_copy_appended).toBe(true);
      expect((await activity(created.email.activity_id)).state).toBe('completed');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await messagesIn(USER, f('crash'))).toHaveLength(0);
      expect(await copiesOf(f('sent'), created.email.message_id)).toHaveLength(1);
    });

    it('an attempt abandoned before SMTP accepted (no copy in Sent) is sent by the worker, once', async () => {
      const question = await inbound(watched, {
        from: addr(f('crash2')),
        messageId: `<crash2.${run}@example.test>`,
      });
      const created = await createReply(
        t.db,
        { activityId: question.id, operatorId: anna().id, text: 'Never left before the crash.' },
        { leaseMs: 60_000 },
      );
      await q(`UPDATE outbound_emails SET lease_until = now() - interval '1 second' WHERE id = $1`, [
        created.email.id,
      ]);
      await waitRow(created.email.activity_id, 'sent by the worker', (row) => row.status === 'sent');
      await waitRow(created.email.activity_id, 'the Sent copy', (row) => row.sent_copy_appended);
      await waitFor('delivered', async () => (await messagesIn(USER, f('crash2'))).length > 0);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await messagesIn(USER, f('crash2'))).map((m) => m.messageId)).toEqual([
        created.email.message_id,
      ]);
      expect(await copiesOf(f('sent'), created.email.message_id)).toHaveLength(1);
      expect((await outboundOf(created.email.activity_id)).attempts).toBe(2);
    });

    it('a permanent SMTP refusal answers 422 with the recorded activity, and is not retried', async () => {
      const refusing = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        onRcptTo: (_a, _s, cb) =>
          cb(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 })),
      });
      await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
      stops.push(() => new Promise<void>((resolve) => refusing.close(() => resolve())));
      const port = (refusing.server.address() as { port: number }).port;
      const box = await mailbox('refuse', {
        host: '127.0.0.1',
        port,
        secure: false,
        sentFolder: f('refusesent'),
      });
      const question = await inbound(box, {
        from: `gone.${run}@client.test`,
        messageId: `<gone.${run}@client.test>`,
      });
      const r = await post(question.id, { text: 'Hello?' });
      expect(r.statusCode, r.body).toBe(422);
      const body = r.json();
      expect(body).toMatchObject({
        status: 'failed',
        activityId: expect.any(Number),
        error: { code: 'UNPROCESSABLE' },
      });
      expect(body.error.message).toMatch(/550|No such user/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const row = await outboundOf(body.activityId);
      expect(row).toMatchObject({ status: 'failed', attempts: 1 });
      const a = await activity(body.activityId);
      expect(a.state).toBe('planned');
      expect(a.details.outbound).toMatchObject({ status: 'failed' });
    });

    it('a Sent copy that could not be filed (IMAP refused) is filed later; the send itself succeeded', async () => {
      const box = await mailbox('nocopy', sink(f('nocopysent')));
      await q(`UPDATE mailboxes SET imap = jsonb_set(imap, '{password}', '"wrong"') WHERE id = $1`, [box.id]);
      const question = await inbound(box, {
        from: addr(f('nocopy')),
        messageId: `<nocopy.${run}@example.test>`,
      });
      const r = await post(question.id, { text: 'Copy later.' });
      expect(r.statusCode, r.body).toBe(201);
      const { activityId, messageId } = r.json();
      await waitRow(activityId, 'the copy failure recorded', (row) => row.sent_copy_error != null);
      expect((await outboundOf(activityId)).sent_copy_appended).toBe(false);
      await q(`UPDATE mailboxes SET imap = jsonb_set(imap, '{password}', '"secret"') WHERE id = $1`, [
        box.id,
      ]);
      await waitRow(activityId, 'the copy filed by the worker', (row) => row.sent_copy_appended, 20_000);
      expect(await copiesOf(f('nocopysent'), messageId)).toHaveLength(1);
      expect(await copiesOf(f('nocopy'), messageId)).toHaveLength(1);
    });

    it('refuses what cannot be answered: 401, 403, 404, 400 naming the field, 422 with the reason', async () => {
      const question = await inbound(watched, {
        from: addr(f('bounce')),
        messageId: `<bounce.${run}@example.test>`,
      });
      // Anna answers: make these emails hers, whoever round robin gave them to (others get 404).
      await q('UPDATE activities SET responsible_id = $1 WHERE id = $2', [anna().id, question.id]);
      expect((await post(question.id, { text: 'x' }, {})).statusCode).toBe(401);
      const asAdmin = await post(question.id, { text: 'x' }, auth(ADMIN_TOKEN));
      expect(asAdmin.statusCode).toBe(403);

      const missing = await post(2_000_000_000, { text: 'x' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error).toMatchObject({ code: 'NOT_FOUND', fields: ['id'] });

      const empty = await post(question.id, {});
      expect(empty.statusCode).toBe(400);
      expect(empty.json().error.fields).toEqual(['text']);
      const badTo = await post(question.id, { text: 'x', to: ['not an address'] });
      expect(badTo.statusCode).toBe(400);
      expect(badTo.json().error.fields).toEqual(['to.0']);
      const badKey = await post(question.id, { text: 'x' }, { ...auth(), 'idempotency-key': 'has spaces' });
      expect(badKey.statusCode).toBe(400);
      expect(badKey.json().error.fields).toEqual(['idempotency-key']);

      await router.handle([formEvent({ phone: '+74951234567', externalId: `form-${run}` })]);
      const form = (
        await q<{ id: number }>(`SELECT id FROM activities WHERE type = 'form' ORDER BY id DESC`)
      )[0]!;
      // Round robin may have given the form to Boris; Anna may answer only what she can see.
      await q('UPDATE activities SET responsible_id = $1 WHERE id = $2', [anna().id, form.id]);
      const notEmail = await post(form.id, { text: 'x' });
      expect(notEmail.statusCode).toBe(422);
      expect(notEmail.json().error.fields).toEqual(['id']);

      const noSmtp = await mailbox('nosmtp', null);
      const q2 = await inbound(noSmtp, {
        from: `x.${run}@client.test`,
        messageId: `<nosmtp.${run}@client.test>`,
      });
      await q('UPDATE activities SET responsible_id = $1 WHERE id = $2', [anna().id, q2.id]);
      const r2 = await post(q2.id, { text: 'x' });
      expect(r2.statusCode).toBe(422);
      expect(r2.json().error.fields).toEqual(['mailbox.smtp']);

      const robot = await inbound(watched, {
        from: `auto.${run}@client.test`,
        messageId: `<robot.${run}@client.test>`,
        headers: { 'Auto-Submitted': 'auto-replied' },
      });
      await q('UPDATE activities SET responsible_id = $1 WHERE id = $2', [anna().id, robot.id]);
      const r3 = await post(robot.id, { text: 'x' });
      expect(r3.statusCode).toBe(422);
      expect(r3.json().error.message).toMatch(/automatic/);

      // An address that bounced earlier mail: refused unless forced.
      await q('UPDATE identities SET bouncing = true WHERE value = $1', [addr(f('bounce'))]);
      const bouncing = await post(question.id, { text: 'x' });
      expect(bouncing.statusCode).toBe(422);
      expect(bouncing.json().error).toMatchObject({ code: 'UNPROCESSABLE', fields: ['to'] });
      const forced = await post(question.id, { text: 'Trying anyway.', force: true });
      expect(forced.statusCode, forced.body).toBe(201);
      await waitFor(
        'the forced reply delivered',
        async () => (await messagesIn(USER, f('bounce'))).length === 1,
      );
      expect(
        await q('SELECT id FROM outbound_emails WHERE reply_to_activity_id = $1', [question.id]),
      ).toHaveLength(1);
    });
  });
}

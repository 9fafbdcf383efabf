import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../app/demo-seed.js';
import type { Router } from '../../router/router.js';
import { createTestPglite, type TestDatabase } from '../support/db.js';
import { emailEvent } from '../support/events.js';
import { testRouter } from '../support/router.js';

describe('router: email threading, robots and bounces', () => {
  let t: TestDatabase;
  let router: Router;
  const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.query<R>(sql, params)).rows;
  const activityOf = async (eventId: string) =>
    (
      await q<{ owner_type: string; owner_id: number | null }>(
        'SELECT owner_type, owner_id FROM activities WHERE event_id = $1',
        [eventId],
      )
    )[0];

  beforeAll(async () => {
    t = await createTestPglite();
    await seedDemo(t.db);
    router = testRouter(t.db);
  });
  afterAll(async () => t?.drop());

  it('threads a reply from another address of the client onto the same lead and learns that address', async () => {
    const first = emailEvent({ from: 'olga@client.example', messageId: '<m1@client.example>' });
    await router.handle([first]);
    const lead = await activityOf(first.id);
    expect(lead?.owner_type).toBe('lead');
    const reply = emailEvent({
      from: 'olga.private@mail.example',
      messageId: '<m2@mail.example>',
      inReplyTo: '<m1@client.example>',
      references: ['<m1@client.example>'],
    });
    await router.handle([reply]);
    expect(await activityOf(reply.id)).toEqual(lead);
    const ids = await q<{ owner_id: number }>(
      `SELECT owner_id FROM identities WHERE value = 'olga.private@mail.example'`,
    );
    expect(ids[0]?.owner_id).toBe(lead!.owner_id);
    expect(await q('SELECT id FROM leads')).toHaveLength(1);
  });

  it('attaches an auto-reply to its thread and never makes a lead of a robot', async () => {
    const auto = emailEvent({
      from: 'noreply@robot.example',
      robot: 'auto-reply',
      messageId: '<a1@robot.example>',
      inReplyTo: '<m1@client.example>',
    });
    const list = emailEvent({ from: 'news@list.example', robot: 'list', messageId: '<l1@list.example>' });
    await router.handle([auto, list]);
    expect((await activityOf(auto.id))?.owner_type).toBe('lead');
    expect(await activityOf(list.id)).toEqual({ owner_type: 'queue', owner_id: null });
    expect(await q('SELECT id FROM leads')).toHaveLength(1);
    expect(
      await q(`SELECT id FROM identities WHERE value LIKE '%robot.example' OR value LIKE '%list.example'`),
    ).toHaveLength(0);
  });

  it('attaches a bounce to the message it reports on and marks the address as bouncing', async () => {
    const bounce = emailEvent({
      from: 'mailer-daemon@mx.example',
      robot: 'bounce',
      messageId: '<b1@mx.example>',
      bounce: { recipients: ['Olga@Client.example'], originalMessageId: '<m1@client.example>' },
    });
    await router.handle([bounce]);
    const lead = await activityOf(bounce.id);
    expect(lead?.owner_type).toBe('lead');
    const [id] = await q<{ bouncing: boolean }>(
      `SELECT bouncing FROM identities WHERE value = 'olga@client.example'`,
    );
    expect(id?.bouncing).toBe(true);
  });
});

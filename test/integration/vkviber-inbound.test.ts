import { createHmac } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpOptions, registerErrorHandler } from '../../api/error-handler.js';
import { loadConfig } from '../../app/config.js';
import { createMemoryBus } from '../../bus/memory-bus.js';
import { createViberConnector } from '../../connectors/viber/index.js';
import { createVkConnector } from '../../connectors/vk/index.js';
import { channelSettings, cursorStore } from '../../crm-core/repositories/channel-settings.repository.js';
import { upsertMessengerAccount } from '../../crm-core/repositories/messenger-account.repository.js';
import { createLogger } from '../../lib/logger.js';
import { createTestPglite, type TestDatabase } from '../support/db.js';
import { messengerFixture, viberAccount, vkAccount } from '../support/messenger-app.js';
import { testRouter } from '../support/router.js';

/**
 * VK and Viber webhooks through the embedded pipeline: accounts stored in crm-core (secrets and all), the real
 * connectors, the in-process bus (an answer only after the router's commit) and the router on PGlite.
 */
describe('VK and Viber messages reach the CRM', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  const bus = createMemoryBus({ logger: createLogger({ level: 'silent' }) });

  beforeAll(async () => {
    t = await createTestPglite();
    await upsertMessengerAccount(t.db, vkAccount({ regionId: undefined }));
    await upsertMessengerAccount(t.db, viberAccount());
    await bus.subscribe(testRouter(t.db).handle);
    app = Fastify(httpOptions());
    registerErrorHandler(app);
    const ctx = {
      config: loadConfig({ LOG_LEVEL: 'silent' }),
      logger: createLogger({ level: 'silent' }),
      bus,
      settings: channelSettings(t.db, 0),
      cursors: cursorStore(t.db),
    };
    for (const c of [createVkConnector(ctx), createViberConnector(ctx)]) {
      await app.register(c.http!.plugin, { prefix: c.http!.prefix });
    }
  });
  afterAll(async () => {
    await app?.close();
    await bus.close();
    await t?.drop();
  });

  const identityOwners = async (kind: string, value: string) =>
    (
      await t.db.query<{ owner_type: string; owner_id: number }>(
        'SELECT owner_type, owner_id FROM identities WHERE kind = $1 AND value = $2',
        [kind, value],
      )
    ).rows;

  it('a VK message from a new client creates one lead with a vk identity; the redelivery adds nothing', async () => {
    const post = () =>
      app.inject({
        method: 'POST',
        url: '/v1/messengers/vk/vk-main',
        headers: { 'content-type': 'application/json' },
        payload: messengerFixture('vk/message_new-text.json'),
      });
    const res = await post();
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('ok');
    const owners = await identityOwners('vk', '612444319');
    expect(owners).toHaveLength(1);
    expect(owners[0]!.owner_type).toBe('lead');
    const lead = await t.db.query<{ source_type: string; source_key: string; source_name: string | null }>(
      'SELECT source_type, source_key, source_name FROM leads WHERE id = $1',
      [owners[0]!.owner_id],
    );
    expect(lead.rows[0]).toEqual({ source_type: 'bot', source_key: 'vk-main', source_name: 'VK ads' });
    expect((await post()).body).toBe('ok');
    expect(await identityOwners('vk', '612444319')).toEqual(owners);
    expect((await t.db.query('SELECT 1 FROM leads')).rows).toHaveLength(1);
  });

  it('a signed Viber message creates a lead with a viber identity; a forged one writes nothing', async () => {
    const body = messengerFixture('viber/message-text.json');
    const signature = createHmac('sha256', viberAccount().authToken).update(body).digest('hex');
    const send = (sig: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/messengers/viber/viber-main',
        headers: { 'content-type': 'application/json', 'x-viber-content-signature': sig },
        payload: body,
      });
    expect((await send(signature.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')))).statusCode).toBe(401);
    expect(await identityOwners('viber', '01234567890A=')).toHaveLength(0);
    expect((await send(signature)).statusCode).toBe(200);
    expect(await identityOwners('viber', '01234567890A=')).toHaveLength(1);
  });
});

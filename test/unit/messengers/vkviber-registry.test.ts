import { createHmac } from 'node:crypto';
import Fastify from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { httpOptions, registerErrorHandler } from '../../../api/error-handler.js';
import { loadConfig } from '../../../app/config.js';
import { createConnectors } from '../../../connectors/registry.js';
import { SENDER_FACTORIES } from '../../../outbound/messengers/registry.js';
import { MemoryChannelSettings, noCursors, RecordingPublisher } from '../../support/connector-doubles.js';
import { messengerFixture, viberAccount, vkAccount } from '../../support/messenger-app.js';

describe('VK and Viber are registered', () => {
  it('their webhooks answer under /v1/messengers/<vendor>/<key> among every connector the service runs', async () => {
    const app = Fastify(httpOptions());
    registerErrorHandler(app);
    const bus = new RecordingPublisher();
    for (const c of createConnectors({
      config: loadConfig({ LOG_LEVEL: 'silent' }),
      logger: pino({ level: 'silent' }),
      bus,
      settings: new MemoryChannelSettings({ accounts: [vkAccount(), viberAccount()] }),
      cursors: noCursors,
    })) {
      if (c.http) await app.register(c.http.plugin, { prefix: c.http.prefix });
    }
    const vk = await app.inject({
      method: 'POST',
      url: '/v1/messengers/vk/vk-main',
      headers: { 'content-type': 'application/json' },
      payload: messengerFixture('vk/confirmation.json'),
    });
    expect(vk.body).toBe('1a2b3c4d');
    const body = messengerFixture('viber/message-text.json');
    const viber = await app.inject({
      method: 'POST',
      url: '/v1/messengers/viber/viber-main',
      headers: {
        'content-type': 'application/json',
        'x-viber-content-signature': createHmac('sha256', viberAccount().authToken)
          .update(body)
          .digest('hex'),
      },
      payload: body,
    });
    expect(viber.statusCode).toBe(200);
    expect(bus.events.map((e) => e.channel)).toEqual(['viber']);
    await app.close();
  });

  it('their senders are in the outbound registry', () => {
    const deps = { urls: loadConfig({}).vendorApiUrls, logger: pino({ level: 'silent' }) };
    expect(SENDER_FACTORIES.vk?.(deps).vendor).toBe('vk');
    expect(SENDER_FACTORIES.viber?.(deps).vendor).toBe('viber');
  });
});

import { describe, expect, it } from 'vitest';
import { createViberConnector } from '../../../connectors/viber/index.js';
import { createVkConnector } from '../../../connectors/vk/index.js';
import { expectError } from '../../support/expect-error.js';
import { buildMessengerApp, viberAccount, vkAccount } from '../../support/messenger-app.js';

/** A NUL (or any key that cannot be one) in a messenger webhook URL: refused as unknown, before any look-up. */
describe('messenger webhooks and impossible account keys', () => {
  it('answers 4xx (Viber: 401) without looking the key up', async () => {
    const t = await buildMessengerApp(createVkConnector, [vkAccount()]);
    const viber = await buildMessengerApp(createViberConnector, [viberAccount()]);
    for (const [app, url] of [
      [t.app, '/v1/messengers/vk/vk-main%00'],
      [viber.app, '/v1/messengers/viber/vi%00ber'],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        payload: '{}',
      });
      // VK names its secret in the body, so an unreadable body may be refused (400) first; never a 5xx.
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, url).toBeLessThan(500);
      if (url.includes('viber')) expectError(res, 401, 'UNAUTHORIZED');
    }
    expect(t.settings.lookups).toEqual([]);
    expect(viber.settings.lookups).toEqual([]);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { DENIED_MESSAGE } from '../../../connectors/messenger-account.js';
import { AppError } from '../../../lib/errors.js';
import {
  buildTelegramApp,
  fixtureText,
  telegramAccount,
  telegramHarness,
  WEBHOOK_SECRET,
} from '../../support/telegram-app.js';

type App = Awaited<ReturnType<typeof buildTelegramApp>>;
let t: App;
afterEach(() => t?.app.close());

const post = (body: string, headers: Record<string, string> = {}, key = 'shop') =>
  t.app.inject({
    method: 'POST',
    url: `/v1/messengers/telegram/${key}`,
    headers: {
      'content-type': 'application/json',
      'x-telegram-bot-api-secret-token': WEBHOOK_SECRET,
      ...headers,
    },
    payload: body,
  });

describe('Telegram webhook', () => {
  it('publishes a message and answers 200 only after the bus took it', async () => {
    t = await buildTelegramApp();
    const res = await post(fixtureText('text'));
    expect(res.statusCode).toBe(200);
    expect(t.bus.events).toHaveLength(1);
    expect(t.bus.events[0]).toMatchObject({
      channel: 'telegram',
      source: { key: 'shop' },
      externalId: '1111111:1365',
    });
    expect(t.updates).toEqual([{ vendor: 'telegram', kind: 'message', outcome: 'published' }]);
  });

  it('a redelivered update publishes the same event id (a no-op downstream)', async () => {
    t = await buildTelegramApp();
    await post(fixtureText('photo'));
    await post(fixtureText('photo'));
    expect(t.bus.events).toHaveLength(2);
    expect(t.bus.events[0]!.id).toBe(t.bus.events[1]!.id);
  });

  it.each([
    ['missing', {}],
    ['forged', { 'x-telegram-bot-api-secret-token': 'tg-secret_0123456788' }],
    ['empty', { 'x-telegram-bot-api-secret-token': '' }],
  ])('%s secret token -> 401, nothing published', async (_name, headers) => {
    t = await buildTelegramApp();
    const h: Record<string, string> = { ...headers };
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/messengers/telegram/shop',
      headers: { 'content-type': 'application/json', ...h },
      payload: fixtureText('text'),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: DENIED_MESSAGE } });
    expect(t.bus.events).toHaveLength(0);
    expect(t.updates).toEqual([{ vendor: 'telegram', kind: 'request', outcome: 'unauthorized' }]);
  });

  it('unknown key, inactive account, another vendor’s key and an account without a secret answer exactly alike', async () => {
    t = await buildTelegramApp(
      telegramHarness({
        accounts: [
          telegramAccount(),
          telegramAccount({ key: 'off', active: false }),
          telegramAccount({ key: 'nosecret', webhookSecret: undefined }),
        ],
      }),
    );
    t.settings.accounts.push({
      vendor: 'viber',
      key: 'viber1',
      name: 'Viber',
      active: true,
      authToken: WEBHOOK_SECRET,
      senderName: 'Shop',
    });
    const wrong = await post(fixtureText('text'), { 'x-telegram-bot-api-secret-token': 'nope' });
    for (const key of ['nobody', 'off', 'viber1', 'nosecret']) {
      const res = await post(fixtureText('text'), {}, key);
      expect(res.statusCode, key).toBe(401);
      expect(res.body, key).toBe(wrong.body);
    }
    expect(t.bus.events).toHaveLength(0);
  });

  it('malformed JSON -> 400 naming the body; a non-Update -> 400 naming the field; nothing published', async () => {
    t = await buildTelegramApp();
    const a = await post('{"update_id":');
    expect(a.statusCode).toBe(400);
    expect(a.json().error).toMatchObject({ code: 'VALIDATION', fields: ['body'] });
    const b = await post(
      JSON.stringify({ update_id: 1, message: { message_id: 1, date: 1, chat: { id: 'x' } } }),
    );
    expect(b.statusCode).toBe(400);
    expect(b.json().error).toMatchObject({ code: 'VALIDATION', fields: ['message.chat.id'] });
    expect(t.bus.events).toHaveLength(0);
    expect(t.updates.map((u) => u.outcome)).toEqual(['invalid', 'invalid']);
  });

  it.each([
    ['channel-post', 'channel_post', 'unhandled'],
    ['callback-query', 'callback_query', 'unhandled'],
    ['new-member', 'message', 'unhandled'],
    ['from-bot', 'message', 'ignored'],
  ])('%s is acknowledged with 200 and counted, nothing published', async (name, kind, outcome) => {
    t = await buildTelegramApp();
    const res = await post(fixtureText(name));
    expect(res.statusCode).toBe(200);
    expect(t.bus.events).toHaveLength(0);
    expect(t.updates).toEqual([{ vendor: 'telegram', kind, outcome }]);
  });

  it('bus down -> 503 with Retry-After, so Telegram redelivers; nothing counted as published', async () => {
    t = await buildTelegramApp();
    t.bus.failWith = new AppError('BUS_UNAVAILABLE', 'bus is down (test)', { retryAfterSec: 7 });
    const res = await post(fixtureText('text'));
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    t.bus.failWith = new Error('broker connection closed');
    const res2 = await post(fixtureText('text'));
    expect(res2.statusCode).toBe(503);
    expect(res2.headers['retry-after']).toBe('5');
    expect(res2.json().error.code).toBe('BUS_UNAVAILABLE');
    expect(t.updates).toEqual([]);
  });
});

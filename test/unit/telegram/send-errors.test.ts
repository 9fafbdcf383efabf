import { TelegramError } from 'telegraf';
import { describe, expect, it } from 'vitest';
import { toSendError } from '../../../outbound/messengers/telegram-errors.js';

const tg = (error_code: number, description: string, parameters?: Record<string, number>) =>
  new TelegramError({ error_code, description, ...(parameters ? { parameters } : {}) });

describe('Bot API errors -> VendorSendError', () => {
  it.each([
    [tg(429, 'Too Many Requests: retry after 5', { retry_after: 5 }), 'rate_limited', true],
    [tg(403, 'Forbidden: bot was blocked by the user'), 'blocked', false],
    [tg(403, 'Forbidden: user is deactivated'), 'blocked', false],
    [tg(400, 'Bad Request: chat not found'), 'bad_recipient', false],
    [tg(400, 'Bad Request: PEER_ID_INVALID'), 'bad_recipient', false],
    [
      tg(400, 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: -1001 }),
      'bad_recipient',
      false,
    ],
    [tg(400, 'Bad Request: message is too long'), 'rejected', false],
    [tg(400, 'Bad Request: wrong file identifier/HTTP URL specified'), 'rejected', false],
    [tg(401, 'Unauthorized'), 'unauthorized', false],
    [tg(404, 'Not Found'), 'unauthorized', false],
    [tg(502, 'Bad Gateway'), 'unavailable', true],
    [
      new Error(
        'request to https://api.telegram.org/bot123:secret-part/sendMessage failed, reason: ECONNRESET',
      ),
      'unavailable',
      true,
    ],
  ])('%s -> %s', (err, reason, retriable) => {
    const e = toSendError(err);
    expect(e.reason).toBe(reason);
    expect(e.retriable).toBe(retriable);
    expect(e.message).not.toContain('secret-part');
  });

  it('keeps retry_after and the error code', () => {
    expect(toSendError(tg(429, 'Too Many Requests: retry after 5', { retry_after: 5 })).opts).toEqual({
      vendorCode: '429',
      retryAfterSec: 5,
    });
  });
});

import type { FastifyPluginAsync } from 'fastify';
import { safeEqual } from '../../lib/credentials.js';
import { isAppError } from '../../lib/errors.js';
import type { ConnectorContext } from '../contract.js';
import { denyMessenger, findMessengerAccount } from '../messenger-account.js';
import { keepRawBodies, parseJson, rawBody } from '../webhook-http.js';
import { publishEvents } from './publish.js';
import { updateToEvent } from './update-to-event.js';

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/**
 * Webhook mode: Telegram POSTs each Update as JSON to /v1/messengers/telegram/<accountKey> with the
 * secret_token given to setWebhook in X-Telegram-Bot-Api-Secret-Token. 200 only once the event is durable
 * (Telegram redelivers anything else); an account without a webhookSecret takes no webhooks at all.
 */
export function telegramWebhook(ctx: ConnectorContext): FastifyPluginAsync {
  const log = ctx.logger.child({ connector: 'telegram' });
  return async (app) => {
    keepRawBodies(app);
    app.post<{ Params: { accountKey: string } }>('/:accountKey', async (req, reply) => {
      const key = req.params.accountKey;
      const account = await findMessengerAccount(ctx, 'telegram', key);
      if (!account) return denyMessenger(ctx, 'telegram', key, 'unknown, inactive or other vendor account');
      if (!account.webhookSecret) return denyMessenger(ctx, 'telegram', key, 'no webhookSecret configured');
      const given = req.headers[SECRET_HEADER];
      if (typeof given !== 'string' || !safeEqual(given, account.webhookSecret)) {
        return denyMessenger(ctx, 'telegram', key, given ? 'wrong secret token' : 'no secret token');
      }
      const body = rawBody(req);
      let mapped: ReturnType<typeof updateToEvent>;
      try {
        mapped = updateToEvent(
          parseJson(body.text),
          account,
          { contentType: 'application/json', body: body.text },
          { defaultCountry: ctx.config.defaultCountry },
        );
      } catch (e) {
        if (isAppError(e)) ctx.onUpdate?.('telegram', 'request', 'invalid');
        throw e;
      }
      if (mapped.outcome === 'published') {
        await publishEvents(ctx, [mapped.event]);
      } else {
        log.debug(
          { account: account.key, kind: mapped.kind, reason: mapped.reason },
          'telegram update skipped',
        );
      }
      ctx.onUpdate?.('telegram', mapped.kind, mapped.outcome);
      return reply.code(200).send({ ok: true });
    });
  };
}

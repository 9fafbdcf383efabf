import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import { validSha256Signature } from '../../lib/credentials.js';
import { isAppError } from '../../lib/errors.js';
import { parseJsonExact } from '../../lib/json.js';
import type { Connector, ConnectorContext, UpdateOutcome } from '../contract.js';
import { denyMessenger, findMessengerAccount } from '../messenger-account.js';
import { invalid, keepRawBodies, lookup, rawBody } from '../webhook-http.js';
import {
  ViberConversationStarted,
  ViberEnvelope,
  ViberMessageCallback,
  ViberReceipt,
  ViberSubscribed,
  ViberUnsubscribed,
} from './callback.js';
import { VIBER_RECEIPTS, viberMessageEvent, viberReceiptStatus } from './events.js';

/**
 * Viber bot webhooks: POST /v1/messengers/viber/<accountKey>. Every callback is signed: X-Viber-Content-Signature
 * is the hex HMAC-SHA256 of the raw body with the bot's auth token, checked before the body is even parsed
 * (forged or missing: 401, the same answer as an unknown key, nothing written). Viber retries callbacks that
 * were not answered 200, so 200 comes only once the bus holds what the callback became (else 503).
 * What an administrator sets up: README.md here.
 */
const VENDOR = 'viber';
const SIGNATURE = 'x-viber-content-signature';

function parse<T extends z.ZodType>(schema: T, data: unknown): z.infer<T> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  throw invalid(r.error);
}

export function createViberConnector(ctx: ConnectorContext): Connector {
  const log = ctx.logger.child({ connector: VENDOR });
  const count = (kind: string, outcome: UpdateOutcome) => ctx.onUpdate?.(VENDOR, kind, outcome);
  const defaultCountry = ctx.config.defaultCountry;

  async function handle(
    key: string,
    raw: { contentType: string; body: string },
    signature: string | undefined,
    seen: { kind: string },
  ): Promise<UpdateOutcome> {
    const account = await findMessengerAccount(ctx, VENDOR, key);
    if (!account) return denyMessenger(ctx, VENDOR, key, 'unknown or inactive account');
    if (!signature || !validSha256Signature(account.authToken, raw.body, signature)) {
      denyMessenger(ctx, VENDOR, key, signature ? 'bad signature' : 'missing signature');
    }
    const data = parseJsonExact(raw.body);
    const env = parse(ViberEnvelope, data);
    seen.kind = env.event;

    const receipt = lookup(VIBER_RECEIPTS, env.event);
    if (receipt) {
      await ctx.bus.publish([viberReceiptStatus(receipt, parse(ViberReceipt, data), account)]);
      return 'published';
    }
    switch (env.event) {
      case 'message': {
        const cb = parse(ViberMessageCallback, data);
        await ctx.bus.publish([viberMessageEvent(cb, account, raw, { defaultCountry })]);
        return 'published';
      }
      case 'webhook':
        // set_webhook's availability check: answering 200 is what completes the registration.
        log.info({ account: key }, 'Viber webhook registered');
        return 'acknowledged';
      case 'conversation_started': {
        // The client opened the chat (maybe through a deep link with `context`) but wrote nothing: no contact
        // yet. Viber would show a welcome message given in this answer; we send none.
        const cs = parse(ViberConversationStarted, data);
        log.info(
          { account: key, context: cs.context, subscribed: cs.subscribed },
          'Viber conversation opened',
        );
        return 'acknowledged';
      }
      case 'subscribed':
      case 'unsubscribed': {
        // Nothing to record as a contact; an unsubscribed client's next reply fails with Viber status 6,
        // which the outbox records as `blocked`.
        const user =
          env.event === 'subscribed'
            ? parse(ViberSubscribed, data).user.id
            : parse(ViberUnsubscribed, data).user_id;
        log.info({ account: key, event: env.event, user }, 'Viber subscription changed');
        return 'acknowledged';
      }
      default:
        log.debug({ account: key, event: env.event }, 'Viber callback type not handled');
        return 'unhandled';
    }
  }

  const plugin: FastifyPluginAsync = async (app) => {
    keepRawBodies(app);
    app.post<{ Params: { accountKey: string } }>('/:accountKey', async (req, reply) => {
      const body = rawBody(req);
      const header = req.headers[SIGNATURE];
      const signature = Array.isArray(header) ? header[0] : header;
      const seen = { kind: 'unknown' };
      try {
        const raw = { contentType: body.contentType, body: body.text };
        const outcome = await handle(req.params.accountKey, raw, signature, seen);
        count(seen.kind, outcome);
        return reply.code(200).send();
      } catch (e) {
        if (isAppError(e) && (e.code === 'VALIDATION' || e.code === 'UNPROCESSABLE'))
          count(seen.kind, 'invalid');
        throw e;
      }
    });
  };
  return { name: VENDOR, http: { prefix: '/v1/messengers/viber', plugin } };
}

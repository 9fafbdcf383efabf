import type { FastifyPluginAsync } from 'fastify';
import type { InstagramAccount, WhatsAppAccount } from '../../channels/messengers.js';
import type { BusEvent } from '../../event/bus-event.js';
import { EventValidationError } from '../../event/inbound-contact.js';
import { safeEqual, validSha256Signature } from '../../lib/credentials.js';
import { AppError, isAppError } from '../../lib/errors.js';
import type { ConnectorContext, UpdateOutcome } from '../contract.js';
import { type AccountOf, denyMessenger, findMessengerAccount } from '../messenger-account.js';
import { fieldError, keepRawBodies, parseJson, type RawBody, rawBody } from '../webhook-http.js';

/**
 * What WhatsApp Cloud API and Instagram messaging webhooks share (both are Meta Graph webhooks):
 * - the GET verification handshake Meta sends when the callback URL is saved (`hub.mode=subscribe`,
 *   `hub.verify_token` compared in constant time with the account's verify token, `hub.challenge` echoed as
 *   text/plain; anything else 403);
 * - `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>`, checked before the body is
 *   parsed: a forged or missing signature is 401 and nothing is read or written. An unknown account key gets the
 *   same answer (an HMAC is still computed, so the timing does not tell them apart).
 * Each vendor supplies only the mapping from its payload to bus events (MetaHandler).
 */
export type MetaVendor = 'whatsapp' | 'instagram';

/** What a vendor's handler made of one signed delivery: the events, and every update with its outcome. */
export interface MetaBatch {
  events: BusEvent[];
  updates: { kind: string; outcome: UpdateOutcome }[];
}

export type MetaHandler<V extends MetaVendor> = (
  account: AccountOf<V>,
  body: unknown,
  raw: RawBody,
) => MetaBatch;

/** Meta retries failed deliveries with back-off for days; a short hint is enough. */
export const BUS_RETRY_AFTER_SEC = 5;
/** Stands in for the app secret of an unknown key, so that both paths compute an HMAC. */
const NO_SECRET = 'no-such-account';

/** Both Meta account types carry the same two webhook secrets. */
const secrets = (a: WhatsAppAccount | InstagramAccount | undefined) => a;

const first = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;

export function metaWebhook<V extends MetaVendor>(
  ctx: ConnectorContext,
  vendor: V,
  handle: MetaHandler<V>,
): FastifyPluginAsync {
  const log = ctx.logger.child({ connector: vendor });
  return async (app) => {
    keepRawBodies(app);

    app.get<{ Params: { accountKey: string }; Querystring: Record<string, unknown> }>(
      '/:accountKey',
      async (req, reply) => {
        const key = req.params.accountKey;
        const account = await findMessengerAccount(ctx, vendor, key);
        const mode = first(req.query['hub.mode']);
        const token = first(req.query['hub.verify_token']) ?? '';
        const tokenOk = safeEqual(token, secrets(account)?.verifyToken ?? NO_SECRET);
        if (!account) denyMessenger(ctx, vendor, key, 'handshake for an unknown account', 'FORBIDDEN');
        if (mode !== 'subscribe' || !token || !tokenOk) {
          denyMessenger(ctx, vendor, key, `handshake refused (mode ${mode ?? 'missing'})`, 'FORBIDDEN');
        }
        const challenge = first(req.query['hub.challenge']);
        if (!challenge || challenge.length > 1_000) {
          throw fieldError('hub.challenge', 'is required (at most 1000 characters)');
        }
        ctx.onUpdate?.(vendor, 'verification', 'acknowledged');
        log.info({ account: key }, 'webhook verification handshake answered');
        return reply.code(200).type('text/plain; charset=utf-8').send(challenge);
      },
    );

    app.post<{ Params: { accountKey: string } }>('/:accountKey', async (req, reply) => {
      const key = req.params.accountKey;
      const raw = rawBody(req);
      const header = req.headers['x-hub-signature-256'];
      const signature = typeof header === 'string' ? header : '';
      const account = await findMessengerAccount(ctx, vendor, key);
      const signed = validSha256Signature(secrets(account)?.appSecret ?? NO_SECRET, raw.text, signature);
      if (!account) return denyMessenger(ctx, vendor, key, 'unknown or inactive account');
      if (!signature || !signed) {
        denyMessenger(ctx, vendor, key, signature ? 'wrong X-Hub-Signature-256' : 'no X-Hub-Signature-256');
      }

      let batch: MetaBatch;
      try {
        batch = handle(account, parseJson(raw.text), raw);
      } catch (e) {
        const err =
          e instanceof EventValidationError
            ? new AppError('UNPROCESSABLE', e.message, { fields: e.issues.map((i) => i.path), cause: e })
            : e;
        if (isAppError(err) && err.status < 500) {
          ctx.onUpdate?.(vendor, 'request', 'invalid');
          log.info({ account: key, err: err.message }, 'webhook body refused');
        }
        throw err;
      }

      if (batch.events.length > 0) {
        try {
          // One call for the whole delivery: all of it is durable, or none of it is acknowledged.
          await ctx.bus.publish(batch.events);
        } catch (e) {
          log.warn({ err: e, account: key, events: batch.events.length }, 'publish failed; Meta will retry');
          if (isAppError(e) && e.code === 'BUS_UNAVAILABLE' && e.retryAfterSec !== undefined) throw e;
          throw new AppError('BUS_UNAVAILABLE', 'the event bus cannot take the delivery now', {
            cause: e,
            retryAfterSec: BUS_RETRY_AFTER_SEC,
          });
        }
      }
      for (const u of batch.updates) {
        ctx.onUpdate?.(vendor, u.kind, u.outcome);
        if (u.outcome === 'unhandled') log.debug({ account: key, kind: u.kind }, 'update not handled');
      }
      return reply.code(200).type('text/plain; charset=utf-8').send('EVENT_RECEIVED');
    });
  };
}

/** Unix seconds (WhatsApp, as a string) or milliseconds (Instagram) as a Date; undefined when unusable. */
export function vendorTime(v: string | number | undefined, unit: 's' | 'ms'): Date | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n) || n <= 0) return undefined;
  const d = new Date(unit === 's' ? n * 1000 : n);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { isChannelKey, type StoreSettings } from '../../channels/settings.js';
import type { InboundContact } from '../../event/inbound-contact.js';
import { bearerToken, safeEqual } from '../../lib/credentials.js';
import { AppError, isAppError } from '../../lib/errors.js';
import { parseJsonExact } from '../../lib/json.js';
import type { Connector, ConnectorContext, UpdateOutcome } from '../contract.js';
import { keepRawBodies, rawBody } from '../webhook-http.js';
import { orderEvent, parseGenericOrder } from './order.js';
import { isWcPing, parseWcOrder, validWcSignature, WC, WC_ORDER_TOPICS } from './woocommerce.js';

/** Sent when the bus gave no hint; nothing was accepted and the store should deliver the order again. */
const BUS_RETRY_AFTER_SEC = 5;
const VENDOR = 'store';
/** One answer for an unknown or inactive store, a wrong secret and a bad signature: keys cannot be probed. */
export const STORE_DENIED = 'unknown store or invalid credentials';

const header = (req: FastifyRequest, name: string) => {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() || undefined;
};

/**
 * Online-store orders: POST /v1/orders/:storeKey, in our own JSON shape (Authorization: Bearer <secret> or
 * X-Store-Secret) or, for stores whose platform is `woocommerce`, as WooCommerce's order.created / order.updated
 * webhook (X-WC-Webhook-Signature). Each accepted revision of an order becomes one InboundContact (channel
 * `store`, content.order); the router makes or updates the order's one deal. 202 only once the bus holds the
 * event, else 503 + Retry-After. What an administrator sets up: README.md here.
 */
export function createStoreConnector(ctx: ConnectorContext): Connector {
  const log = ctx.logger.child({ connector: VENDOR });
  const count = (kind: string, outcome: UpdateOutcome) => ctx.onUpdate?.(VENDOR, kind, outcome);
  const opts = { defaultCountry: ctx.config.defaultCountry };

  function deny(key: string, reason: string): never {
    log.warn({ store: key, reason }, 'store order refused');
    count('request', 'unauthorized');
    throw new AppError('UNAUTHORIZED', STORE_DENIED);
  }

  async function findStore(key: string): Promise<StoreSettings | undefined> {
    // A key that cannot be one (NUL...) is unknown without a look-up: PostgreSQL cannot compare a NUL.
    if (!isChannelKey(key)) return undefined;
    const store = await ctx.settings.getStore(key);
    return store?.active ? store : undefined;
  }

  async function publish(event: InboundContact): Promise<void> {
    try {
      await ctx.bus.publish([event]);
    } catch (e) {
      log.warn({ err: e, eventId: event.id, store: event.source.key }, 'store: publish failed');
      if (isAppError(e) && e.code === 'BUS_UNAVAILABLE' && e.retryAfterSec === undefined) {
        throw new AppError('BUS_UNAVAILABLE', e.message, { cause: e, retryAfterSec: BUS_RETRY_AFTER_SEC });
      }
      throw e;
    }
  }

  /** Our own shape: the secret in a header, compared in constant time. */
  async function generic(key: string, req: FastifyRequest, raw: { contentType: string; body: string }) {
    const given = bearerToken(header(req, 'authorization')) ?? header(req, 'x-store-secret');
    const store = await findStore(key);
    if (!store) deny(key, 'unknown or inactive store');
    if (!given || !safeEqual(given, store.secret)) deny(key, given ? 'wrong secret' : 'no secret');
    const event = orderEvent(store, parseGenericOrder(parseJsonExact(raw.body)), raw, opts);
    await publish(event);
    return { kind: 'order', outcome: 'published' as const, eventId: event.id };
  }

  /** WooCommerce: the signature is checked over the raw bytes before anything is parsed. */
  async function woocommerce(key: string, req: FastifyRequest, raw: { contentType: string; body: string }) {
    const topic = header(req, WC.topic) ?? 'unknown';
    const store = await findStore(key);
    if (store?.platform !== 'woocommerce') deny(key, 'unknown, inactive or not a WooCommerce store');
    if (!validWcSignature(store.secret, raw.body, header(req, WC.signature)!)) deny(key, 'bad signature');
    if (!WC_ORDER_TOPICS.has(topic) || header(req, WC.resource) !== 'order') {
      // Acknowledged: WooCommerce disables a webhook after repeated failures, and these carry no order to record.
      log.info({ store: key, topic }, 'WooCommerce topic not handled');
      return { kind: topic, outcome: 'unhandled' as const };
    }
    const event = orderEvent(store, parseWcOrder(parseJsonExact(raw.body)), raw, opts);
    await publish(event);
    return { kind: topic, outcome: 'published' as const, eventId: event.id };
  }

  const plugin: FastifyPluginAsync = async (app) => {
    keepRawBodies(app);
    app.post<{ Params: { storeKey: string } }>('/:storeKey', async (req, reply) => {
      const { storeKey } = req.params;
      const body = rawBody(req);
      const raw = { contentType: body.contentType, body: body.text };
      let kind = 'order';
      try {
        if (!header(req, WC.signature) && isWcPing(body.contentType, body.text)) {
          // Answered for any key, so it says nothing about which stores exist; nothing is published.
          count('ping', 'acknowledged');
          return reply.code(200).send({ ok: true });
        }
        const wc = header(req, WC.signature) !== undefined;
        if (wc) kind = header(req, WC.topic) ?? 'unknown';
        const done = await (wc ? woocommerce : generic)(storeKey, req, raw);
        count(done.kind, done.outcome);
        return 'eventId' in done
          ? reply.code(202).send({ accepted: true, eventId: done.eventId })
          : reply.code(200).send({ ok: true });
      } catch (e) {
        if (isAppError(e) && (e.code === 'VALIDATION' || e.code === 'UNPROCESSABLE')) count(kind, 'invalid');
        throw e;
      }
    });
  };
  return { name: VENDOR, http: { prefix: '/v1/orders', plugin } };
}

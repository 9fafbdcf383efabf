import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { VkAccount } from '../../channels/messengers.js';
import { safeEqual } from '../../lib/credentials.js';
import { isAppError } from '../../lib/errors.js';
import { parseJsonExact } from '../../lib/json.js';
import type { Connector, ConnectorContext, UpdateOutcome } from '../contract.js';
import { denyMessenger, findMessengerAccount } from '../messenger-account.js';
import { invalid, keepRawBodies, rawBody } from '../webhook-http.js';
import {
  CallbackEnvelope,
  MessageAllowObject,
  MessageDenyObject,
  MessageNewObject,
  MessageReadObject,
  VkMessage,
} from './callback.js';
import { vkMessageEvent, vkReadStatus } from './events.js';

/**
 * VK community Callback API: POST /v1/messengers/vk/<accountKey>. VK expects the plain text `ok` to every
 * event (a server that keeps answering anything else is disabled), the confirmation code to `confirmation`,
 * and retries what was not answered `ok`. So: handled and unhandled events alike get `ok` once the bus holds
 * what they became; a bus failure gets 503 and VK's retry; a wrong secret gets the same 401 as an unknown key.
 * What an administrator sets in VK: README.md here.
 */
const VENDOR = 'vk';

/** Understood and deliberately not recorded: typing indicators. */
const IGNORED = new Set(['message_typing_state']);

const ok = (reply: FastifyReply, text = 'ok') => reply.type('text/plain; charset=utf-8').send(text);

/** The event's object, failures named relative to the whole body (object.message.peer_id). */
function parseObject<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const r = z.object({ object: schema }).safeParse({ object: value });
  if (r.success) return (r.data as { object: z.infer<T> }).object;
  throw invalid(r.error);
}

export function createVkConnector(ctx: ConnectorContext): Connector {
  const log = ctx.logger.child({ connector: VENDOR });
  const count = (kind: string, outcome: UpdateOutcome) => ctx.onUpdate?.(VENDOR, kind, outcome);

  async function handle(
    key: string,
    raw: { contentType: string; body: string },
    seen: { kind: string },
  ): Promise<{ answer: string; kind: string; outcome: UpdateOutcome }> {
    const parsed = CallbackEnvelope.safeParse(parseJsonExact(raw.body));
    if (!parsed.success) throw invalid(parsed.error);
    const env = parsed.data;
    seen.kind = env.type;
    const account = await findMessengerAccount(ctx, VENDOR, key);
    if (!account) return denyMessenger(ctx, VENDOR, key, 'unknown or inactive account');
    authenticate(account, env);
    const base = { account, envelope: env, raw, defaultCountry: ctx.config.defaultCountry };

    switch (env.type) {
      case 'confirmation':
        log.info({ account: key, groupId: env.group_id }, 'VK Callback API server confirmed');
        return { answer: account.confirmationCode, kind: env.type, outcome: 'acknowledged' };
      case 'message_new': {
        const { message } = parseObject(MessageNewObject, env.object);
        const event = vkMessageEvent('message_new', message, base);
        if (!event) return { answer: 'ok', kind: env.type, outcome: 'ignored' };
        await ctx.bus.publish([event]);
        return { answer: 'ok', kind: env.type, outcome: 'published' };
      }
      case 'message_edit':
      case 'message_reply': {
        const message = parseObject(VkMessage, env.object);
        const event = vkMessageEvent(env.type, message, base);
        // The community's own message in a group chat belongs to no single client.
        if (!event) return { answer: 'ok', kind: env.type, outcome: 'ignored' };
        await ctx.bus.publish([event]);
        return { answer: 'ok', kind: env.type, outcome: 'published' };
      }
      case 'message_read': {
        const read = parseObject(MessageReadObject, env.object);
        await ctx.bus.publish([vkReadStatus(read, account)]);
        return { answer: 'ok', kind: env.type, outcome: 'published' };
      }
      case 'message_allow':
      case 'message_deny': {
        // The client allowed / forbade the community's messages: nothing to record as a contact. A denied
        // client's next reply fails with VK error 901, which the outbox records as `blocked`.
        const who = parseObject(
          env.type === 'message_allow' ? MessageAllowObject : MessageDenyObject,
          env.object,
        );
        log.info({ account: key, type: env.type, userId: who.user_id }, 'VK message permission changed');
        return { answer: 'ok', kind: env.type, outcome: 'acknowledged' };
      }
      default:
        if (IGNORED.has(env.type)) return { answer: 'ok', kind: env.type, outcome: 'ignored' };
        log.debug({ account: key, type: env.type, eventId: env.event_id }, 'VK event type not handled');
        return { answer: 'ok', kind: env.type, outcome: 'unhandled' };
    }
  }

  /**
   * The event must come from the account's community and carry its secret. VK's documented confirmation
   * request carries only type and group_id, so it is answered on the group id alone, unless a secret is present,
   * which must then match too; the code it returns only lets VK confirm this very URL.
   */
  function authenticate(account: VkAccount, env: CallbackEnvelope): void {
    // Compared as text: the stored group id may come back from the admin API as a string.
    const groupOk = String(env.group_id) === String(account.groupId);
    const secretOk =
      env.secret === undefined ? env.type === 'confirmation' : safeEqual(env.secret, account.secret);
    if (groupOk && secretOk) return;
    denyMessenger(ctx, VENDOR, account.key, groupOk ? 'wrong or missing secret' : 'wrong group_id');
  }

  const plugin: FastifyPluginAsync = async (app) => {
    keepRawBodies(app);
    app.post<{ Params: { accountKey: string } }>('/:accountKey', async (req, reply) => {
      const body = rawBody(req);
      const seen = { kind: 'unknown' };
      try {
        const raw = { contentType: body.contentType, body: body.text };
        const r = await handle(req.params.accountKey, raw, seen);
        count(r.kind, r.outcome);
        return ok(reply, r.answer);
      } catch (e) {
        if (isAppError(e) && (e.code === 'VALIDATION' || e.code === 'UNPROCESSABLE'))
          count(seen.kind, 'invalid');
        throw e;
      }
    });
  };
  return { name: VENDOR, http: { prefix: '/v1/messengers/vk', plugin } };
}

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../crm-core/db/database.js';
import * as conv from '../crm-core/repositories/conversation.repository.js';
import { getMessengerAccount } from '../crm-core/repositories/messenger-account.repository.js';
import type { MessengerOutboxRow } from '../crm-core/repositories/messenger-outbox.repository.js';
import { isActivityVisible, isConversationVisible } from '../crm-core/repositories/visibility.repository.js';
import { audienceOf, replyNotices } from '../crm-core/services/console-notices.js';
import type { Attachment } from '../event/inbound-contact.js';
import { AppError } from '../lib/errors.js';
import { VendorSendError } from '../outbound/messengers/contract.js';
import type { MessengerOutbox, ReplyOutcome } from '../outbound/messengers/outbox.js';
import { createMessengerReply } from '../outbound/messengers/reply.js';
import { conversationClosed, NO_NOTICES, type Notifier, workChanged } from '../realtime/notices.js';
import { createAuth, operatorOf, prepareAuth, viewerOf } from './auth.js';
import type { ApiConfig } from './config.js';
import { answerDelivery } from './delivery-answer.js';
import { camel } from './routes/present.js';
import * as s from './routes/schemas.js';
import { refuseUnsafeText } from './validation.js';

/**
 * The operator's conversations (messengers): list, read with messages in order, close, reply through the outbox
 * (outbound/messengers/outbox.ts), and download a client's file on demand through the vendor's API.
 */
export interface ConversationsApiDeps {
  db: Database;
  config: Readonly<ApiConfig>;
  outbox: MessengerOutbox;
  /** How long a reply request waits for the first attempt before answering 202 `sending`. */
  sendWaitMs?: number;
  /** Console notices: the reply as message.created, a close as work.changed. */
  notices?: Notifier;
}

const conversation = s.obj({
  id: s.int,
  activityId: s.int,
  channel: s.str,
  accountKey: s.str,
  chatId: s.str,
  ownerType: s.str,
  ownerId: s.nint,
  status: s.str,
  openedAt: s.time,
  lastMessageAt: s.time,
  lastInboundAt: s.ntime,
  closedAt: s.ntime,
  closedBy: s.nstr,
  closedByOperatorId: s.nint,
  responsibleId: s.nint,
  messages: s.int,
});
const message = s.obj({
  id: s.int,
  direction: s.str,
  vendorMessageId: s.nstr,
  text: s.nstr,
  attachments: { type: 'array', items: s.anyObject },
  extras: s.anyObject,
  replyToVendorMessageId: s.nstr,
  status: s.nstr,
  error: { ...s.anyObject, nullable: true },
  statusAt: s.ntime,
  operatorId: s.nint,
  occurredAt: s.time,
  editedAt: s.ntime,
});
const replyResult = s.obj(
  {
    messageId: s.int,
    conversationId: s.int,
    status: { type: 'string', enum: ['sent', 'retrying', 'sending', 'failed'] },
    vendorMessageId: s.str,
    error: s.str,
    nextAttemptAt: s.time,
    replayed: s.bool,
  },
  ['messageId', 'conversationId', 'status'],
);
const { error: _error, nextAttemptAt: _next, ...failedResult } = replyResult.properties;
const attachment = s.body(
  {
    kind: { type: 'string', enum: ['image', 'document', 'audio', 'voice', 'video', 'sticker', 'other'] },
    url: { type: 'string', format: 'uri', pattern: '^https://', maxLength: 2_000 },
    fileId: { type: 'string', minLength: 1, maxLength: 1_000 },
    name: { type: 'string', minLength: 1, maxLength: 255 },
    mimeType: { type: 'string', minLength: 1, maxLength: 255 },
    caption: { type: 'string', maxLength: 1_024 },
  },
  ['kind'],
);

const presentConversation = ({ created_at: _c, updated_at: _u, ...c }: conv.ConversationView) => camel(c);
const presentMessage = ({
  conversation_id: _c,
  channel: _ch,
  account_key: _a,
  event_id: _e,
  created_at: _t,
  ...m
}: conv.MessageRow) => camel(m);

export const conversationsApi: FastifyPluginAsync<ConversationsApiDeps> = async (app, deps) => {
  await prepareAuth(app);
  app.addHook('preValidation', refuseUnsafeText);
  const { db } = deps;
  const notices = deps.notices ?? NO_NOTICES;
  const auth = createAuth({
    db,
    adminToken: deps.config.adminToken,
    sessionTtlHours: deps.config.sessionTtlHours,
  });
  const onRequest = auth.requireOperator;
  const sendWaitMs = deps.sendWaitMs ?? 10_000;
  const tags = ['conversations'];
  /** A conversation the caller may see (its activity's visibility); another's is 404 like a missing one. */
  const found = async (id: number, request: FastifyRequest) => {
    const c = await conv.getConversation(db, id);
    if (!c || !(await isActivityVisible(db, viewerOf(request), c.activity_id)))
      throw new AppError('NOT_FOUND', `id: conversation ${id} not found`, { fields: ['id'] });
    return c;
  };
  /** The same check where the conversation itself is not needed (a reply): one probe, no message count. */
  const visible = async (id: number, request: FastifyRequest) => {
    if (!(await isConversationVisible(db, viewerOf(request), id)))
      throw new AppError('NOT_FOUND', `id: conversation ${id} not found`, { fields: ['id'] });
  };

  app.get<{
    Querystring: { status?: 'open' | 'closed'; operatorId?: number; limit: number; offset: number };
  }>(
    '/v1/conversations',
    {
      onRequest,
      schema: {
        tags,
        summary: "The operator's conversations (their activity's responsible), newest message first",
        description: "The admin token lists everyone's, or one operator's with ?operatorId=.",
        security: s.security,
        querystring: s.body({
          status: { type: 'string', enum: ['open', 'closed'] },
          operatorId: s.id,
          ...s.page(),
        }),
        response: { 200: s.list(conversation), ...s.errors(400, 401) },
      },
    },
    async (request) => {
      const q = request.query;
      const responsibleId = request.principal?.kind === 'operator' ? operatorOf(request) : q.operatorId;
      const rows = await conv.listConversations(db, {
        responsibleId,
        status: q.status,
        limit: q.limit,
        offset: q.offset,
      });
      return { items: rows.map(presentConversation), limit: q.limit, offset: q.offset };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/v1/conversations/:id',
    {
      onRequest,
      schema: {
        tags,
        summary: 'One conversation with its messages in order',
        security: s.security,
        params: s.idParams,
        response: {
          200: s.obj({ ...conversation.properties, items: { type: 'array', items: message } }),
          ...s.errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const c = await found(request.params.id, request);
      return { ...presentConversation(c), items: (await conv.listMessages(db, c.id)).map(presentMessage) };
    },
  );

  app.post<{ Params: { id: number } }>(
    '/v1/conversations/:id/close',
    {
      onRequest,
      schema: {
        tags,
        summary:
          "Close a conversation (the client's next message opens a new one); closing a closed one changes nothing",
        security: s.security,
        params: s.idParams,
        response: { 200: conversation, ...s.errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await found(request.params.id, request);
      await conv.closeConversation(db, request.params.id, operatorOf(request), new Date());
      const closed = await found(request.params.id, request);
      notices.later(async () => {
        const place = await audienceOf(db, closed.id);
        return [
          ...workChanged(place ? [place] : [], [operatorOf(request)]),
          conversationClosed(closed.id, operatorOf(request)),
        ];
      });
      return presentConversation(closed);
    },
  );

  app.post<{
    Params: { id: number };
    Body: {
      text?: string;
      attachments?: Attachment[];
      template?: { name: string; language: string; parameters?: string[] };
    };
    Headers: { 'idempotency-key'?: string };
  }>(
    '/v1/conversations/:id/messages',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Reply in the conversation through its messenger',
        description:
          'Recorded first (an outbound message, pending), then sent at once through the outbox. 201: the vendor ' +
          'took it. 202: recorded, not sent yet — `retrying` (the error is given; retried with back-off) or ' +
          '`sending`. 422: the vendor refused it for good (`status: failed`, the reason in the error). ' +
          "409 WINDOW_CLOSED: WhatsApp, the client's last message is over 24 hours old and no `template` is given. " +
          'The Idempotency-Key is required: the same key answers with the same message, never sent twice. ' +
          'Operator token only.',
        security: s.security,
        params: s.idParams,
        headers: {
          type: 'object',
          required: ['idempotency-key'],
          properties: {
            'idempotency-key': { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' },
          },
        },
        body: s.body({
          text: { type: 'string', minLength: 1, maxLength: 4_096 },
          attachments: { type: 'array', items: attachment, maxItems: 10 },
          template: s.body(
            {
              name: { type: 'string', minLength: 1, maxLength: 512 },
              language: { type: 'string', minLength: 2, maxLength: 15 },
              parameters: { type: 'array', items: { type: 'string', maxLength: 1_024 }, maxItems: 20 },
            },
            ['name', 'language'],
          ),
        }),
        response: {
          201: replyResult,
          202: replyResult,
          422: s.obj({ ...s.errors(422)[422]!.properties, ...failedResult }, ['error']),
          ...s.errors(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      await visible(request.params.id, request);
      const created = await createMessengerReply(
        db,
        {
          conversationId: request.params.id,
          operatorId: operatorOf(request),
          idempotencyKey: request.headers['idempotency-key']!,
          ...request.body,
        },
        { leaseMs: deps.outbox.leaseMs, accountOf: deps.outbox.accountOf },
      );
      if (!created.created) {
        reply.header('idempotent-replayed', 'true');
        return answer(reply, created.reply, await outcomeOf(db, created.reply), true);
      }
      const { conversation_id: conversationId, message_id: messageId } = created.reply;
      notices.later(async () => {
        const m = await conv.getMessage(db, conversationId, messageId);
        return m ? replyNotices(db, conversationId, m) : [];
      });
      return answer(reply, created.reply, await deps.outbox.deliverClaimed(created.reply, sendWaitMs), false);
    },
  );

  app.get<{ Params: { id: number; messageId: number; n: number } }>(
    '/v1/conversations/:id/messages/:messageId/attachments/:n',
    {
      onRequest,
      schema: {
        tags,
        summary: "A file the client sent, fetched from the vendor's API on demand (n counts from 0)",
        security: s.security,
        params: s.body({ id: s.id, messageId: s.id, n: { type: 'integer', minimum: 0, maximum: 19 } }, [
          'id',
          'messageId',
          'n',
        ]),
        response: s.errors(400, 401, 404, 502),
      },
    },
    async (request, reply) => {
      const { id, messageId, n } = request.params;
      await found(id, request);
      const m = await conv.getMessage(db, id, messageId);
      const a = m?.attachments[n] as Attachment | undefined;
      if (!m || !a) {
        throw new AppError(
          'NOT_FOUND',
          `n: message ${messageId} of conversation ${id} has no attachment ${n}`,
          {
            fields: [m ? 'n' : 'messageId'],
          },
        );
      }
      const account = await getMessengerAccount(db, m.account_key);
      const sender = account && deps.outbox.senderFor(account.vendor);
      if (!account || !sender) {
        throw new AppError(
          'VENDOR_UNAVAILABLE',
          `n: the ${m.channel} account ${m.account_key} cannot fetch files now`,
          {
            fields: ['n'],
            retriable: false,
          },
        );
      }
      try {
        const file = await sender.fetchFile(account, a);
        const name = file.name ?? a.name;
        reply.type(file.mimeType ?? a.mimeType ?? 'application/octet-stream');
        if (name)
          reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`);
        return reply.send(file.body);
      } catch (err) {
        if (err instanceof VendorSendError) {
          throw new AppError('VENDOR_UNAVAILABLE', `n: ${m.channel} answered ${err.reason}: ${err.message}`, {
            fields: ['n'],
            retriable: err.retriable,
            ...(err.opts.retryAfterSec ? { retryAfterSec: err.opts.retryAfterSec } : {}),
          });
        }
        throw err;
      }
    },
  );
};

/** What a stored row says about its delivery, for a repeated request. */
async function outcomeOf(db: Database, row: MessengerOutboxRow): Promise<ReplyOutcome> {
  const m = (
    await db.query<{ vendor_message_id: string | null; error: { code?: string; message: string } | null }>(
      'SELECT vendor_message_id, error FROM messages WHERE id = $1',
      [row.message_id],
    )
  ).rows[0];
  switch (row.status) {
    case 'sent':
      return { status: 'sent', vendorMessageId: m?.vendor_message_id ?? '' };
    case 'failed':
      return {
        status: 'failed',
        code: m?.error?.code ?? 'failed',
        error: m?.error?.message ?? row.last_error ?? '',
      };
    case 'pending':
      return { status: 'retrying', error: row.last_error ?? '', nextAttemptAt: row.next_attempt_at };
    default:
      return { status: 'sending' };
  }
}

function answer(reply: FastifyReply, row: MessengerOutboxRow, outcome: ReplyOutcome, replayed: boolean) {
  const base = {
    messageId: row.message_id,
    conversationId: row.conversation_id,
    ...(replayed ? { replayed } : {}),
  };
  return answerDelivery(
    reply,
    base,
    outcome.status === 'sent'
      ? { status: 'sent', extra: { vendorMessageId: outcome.vendorMessageId } }
      : outcome.status === 'failed'
        ? { status: 'failed', message: `${outcome.code}: ${outcome.error}`, field: 'text' }
        : outcome,
  );
}

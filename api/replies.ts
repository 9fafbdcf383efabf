import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Database } from '../crm-core/db/database.js';
import type { OutboundEmailRow } from '../crm-core/repositories/outbound-email.repository.js';
import { isActivityVisible } from '../crm-core/repositories/visibility.repository.js';
import { activityNotices } from '../crm-core/services/console-notices.js';
import { AppError } from '../lib/errors.js';
import { createReply } from '../outbound/email-reply.js';
import type { DeliveryOutcome, Outbox } from '../outbound/outbox-worker.js';
import { NO_NOTICES, type Notifier } from '../realtime/notices.js';
import { createAuth, operatorOf, prepareAuth, viewerOf } from './auth.js';
import type { ApiConfig } from './config.js';
import { answerDelivery } from './delivery-answer.js';
import * as s from './routes/schemas.js';
import { refuseUnsafeText } from './validation.js';

/**
 * POST /v1/activities/:id/reply — an operator answers an email activity from the mailbox it came through.
 * The reply is recorded (outbound email activity + outbox row, one transaction), then sent at once:
 * 201 sent; 202 not sent yet (SMTP failed: `retrying`, the outbox worker retries; or still `sending` after
 * sendWaitMs); 422 refused for good by the SMTP server. An Idempotency-Key header makes a repeated request
 * answer with the first one's reply instead of sending another.
 */
export interface RepliesApiDeps {
  db: Database;
  config: Readonly<ApiConfig>;
  outbox: Outbox;
  /** How long the request waits for the first attempt before answering 202 `sending`. */
  sendWaitMs?: number;
  /** Console notices: the answered email leaves the work lists. */
  notices?: Notifier;
}

interface ReplyBody {
  text?: string;
  html?: string;
  subject?: string;
  to?: string[];
  cc?: string[];
  force?: boolean;
}

const address = { type: 'string', format: 'email', maxLength: 320 } as const;
const result = s.obj(
  {
    activityId: s.int,
    messageId: s.str,
    status: { type: 'string', enum: ['sent', 'retrying', 'sending', 'failed'] },
    error: s.str,
    nextAttemptAt: s.time,
    replayed: s.bool,
  },
  ['activityId', 'messageId', 'status'],
);

const { error: _error, nextAttemptAt: _next, ...failed } = result.properties;

export const repliesApi: FastifyPluginAsync<RepliesApiDeps> = async (app, deps) => {
  await prepareAuth(app);
  app.addHook('preValidation', refuseUnsafeText);
  const auth = createAuth({
    db: deps.db,
    adminToken: deps.config.adminToken,
    sessionTtlHours: deps.config.sessionTtlHours,
  });
  const sendWaitMs = deps.sendWaitMs ?? 10_000;

  app.post<{ Params: { id: number }; Body: ReplyBody; Headers: { 'idempotency-key'?: string } }>(
    '/v1/activities/:id/reply',
    {
      onRequest: auth.requireOperator,
      schema: {
        tags: ['activities'],
        summary: 'Reply by email to an email activity',
        description:
          'Sends from the mailbox the email came through (its SMTP settings), To its Reply-To or From, with ' +
          'In-Reply-To/References threading, files a copy in Sent and records an outbound email activity (planned ' +
          'until sent) on the same owner. 201: sent. 202: recorded but not sent yet — `retrying` (the error is ' +
          'given; it is retried with back-off) or `sending` (still in progress). 422: refused (not an email, no SMTP ' +
          'settings, a bouncing address or an automatic message without `force`, or a permanent SMTP refusal — ' +
          'then `activityId` and `status: failed` come with the error). Operator token only.',
        security: s.security,
        params: s.idParams,
        headers: {
          type: 'object',
          properties: {
            'idempotency-key': {
              type: 'string',
              minLength: 1,
              maxLength: 200,
              pattern: '^[\\x21-\\x7e]+$',
              description:
                'Repeating a request with the same key answers with the first reply; nothing is sent twice',
            },
          },
        },
        body: s.body({
          text: { type: 'string', maxLength: 100_000 },
          html: { type: 'string', maxLength: 400_000 },
          subject: { type: 'string', minLength: 1, maxLength: 998 },
          to: { type: 'array', items: address, minItems: 1, maxItems: 50 },
          cc: { type: 'array', items: address, maxItems: 50 },
          force: { type: 'boolean', default: false },
        }),
        response: {
          201: result,
          202: result,
          // The usual error body; for a permanent SMTP refusal also the recorded activity and `status: failed`.
          422: s.obj({ ...s.errors(422)[422]!.properties, ...failed }, ['error']),
          ...s.errors(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      // Replying to a client the caller cannot see is answered as if the activity did not exist.
      if (!(await isActivityVisible(deps.db, viewerOf(request), request.params.id))) {
        throw new AppError('NOT_FOUND', `id: activity ${request.params.id} not found`, { fields: ['id'] });
      }
      const created = await createReply(
        deps.db,
        {
          activityId: request.params.id,
          operatorId: operatorOf(request),
          ...request.body,
          idempotencyKey: request.headers['idempotency-key'],
        },
        { leaseMs: deps.outbox.leaseMs },
      );
      if (!created.created) {
        reply.header('idempotent-replayed', 'true');
        return answer(reply, created.email, outcomeOf(created.email), true);
      }
      const replied = request.params.id;
      const me = operatorOf(request);
      (deps.notices ?? NO_NOTICES).later(() => activityNotices(deps.db, replied, me));
      const outcome = await deps.outbox.deliverClaimed(created.email, sendWaitMs);
      return answer(reply, created.email, outcome, false);
    },
  );
};

/** What a stored row says about its delivery, for a repeated request. */
function outcomeOf(row: OutboundEmailRow): DeliveryOutcome {
  switch (row.status) {
    case 'sent':
      return { status: 'sent', response: row.smtp_response ?? '', rejected: [] };
    case 'failed':
      return { status: 'failed', error: row.last_error ?? 'failed' };
    case 'pending':
      return { status: 'retrying', error: row.last_error ?? '', nextAttemptAt: row.next_attempt_at };
    default:
      return { status: 'sending' };
  }
}

function answer(reply: FastifyReply, row: OutboundEmailRow, outcome: DeliveryOutcome, replayed: boolean) {
  const base = { activityId: row.activity_id, messageId: row.message_id, ...(replayed ? { replayed } : {}) };
  return answerDelivery(
    reply,
    base,
    outcome.status === 'sent'
      ? { status: 'sent' }
      : outcome.status === 'failed'
        ? { status: 'failed', message: `smtp: ${outcome.error}`, field: 'to' }
        : outcome,
  );
}

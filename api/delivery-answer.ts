import type { FastifyReply } from 'fastify';

/** How far a reply got, as both outboxes report it (email: outbox-worker.ts; messengers: messengers/outbox.ts). */
export type DeliveryState =
  | { status: 'sent'; extra?: Record<string, unknown> }
  | { status: 'retrying'; error: string; nextAttemptAt?: Date }
  | { status: 'sending' }
  | { status: 'failed'; message: string; field: string };

/**
 * The one way a reply request is answered, whatever the channel: 201 sent, 202 still trying (with the error and
 * the next attempt) or in progress, 422 refused for good (the reason, and the field an operator would change).
 */
export function answerDelivery(reply: FastifyReply, base: Record<string, unknown>, state: DeliveryState) {
  switch (state.status) {
    case 'sent':
      return reply.code(201).send({ ...base, status: 'sent', ...state.extra });
    case 'retrying':
      return reply.code(202).send({
        ...base,
        status: 'retrying',
        error: state.error,
        ...(state.nextAttemptAt ? { nextAttemptAt: new Date(state.nextAttemptAt).toISOString() } : {}),
      });
    case 'sending':
      return reply.code(202).send({ ...base, status: 'sending' });
    case 'failed':
      return reply.code(422).send({
        error: { code: 'UNPROCESSABLE', message: state.message, fields: [state.field] },
        ...base,
        status: 'failed',
      });
  }
}

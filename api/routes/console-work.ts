import type { FastifyInstance } from 'fastify';
import { type ClientRef, giveClient, myWork } from '../../crm-core/services/console-work.service.js';
import { AppError } from '../../lib/errors.js';
import { operatorOf, viewerOf } from '../auth.js';
import type { RouteContext } from './context.js';
import * as s from './schemas.js';

const item = s.obj({
  kind: { type: 'string', enum: ['conversation', 'lead', 'email', 'missed_call', 'callback'] },
  id: s.int,
  activityId: s.nint,
  client: { ...s.obj({ entityType: s.str, entityId: s.int, name: s.nstr }), nullable: true },
  regionId: s.nint,
  channel: s.nstr,
  preview: s.nstr,
  waitingSince: s.ntime,
  lastActivityAt: s.time,
  deadline: s.ntime,
  responsibleId: s.nint,
  queued: s.bool,
});
const clientRef = {
  entityType: { type: 'string', enum: ['lead', 'contact', 'company'] },
  entityId: s.id,
};
const given = s.obj({ entityType: s.str, entityId: s.int, from: s.nint, to: s.int });

function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The console's work list, and taking a client from the queue or handing one to a colleague. */
export function consoleWorkRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireOperator;
  const tags = ['console'];

  app.get<{ Querystring: { limit: number; tz: string } }>(
    '/v1/console/work',
    {
      onRequest,
      schema: {
        tags,
        summary:
          'My work: open conversations, new leads, emails awaiting an answer, missed calls and planned callbacks, ' +
          'longest-waiting client first, with the counters',
        description:
          'An operator gets their own and the unassigned queue of their regions (`queued: true`); a supervisor ' +
          'their regions; the admin everything (and no counters). `waitingSince` is null when nobody waits ' +
          "(an answered conversation); those come last. The console refetches on the socket's `work.changed`.",
        security: s.security,
        querystring: s.body({
          limit: { type: 'integer', minimum: 1, maximum: 1_000, default: 300 },
          tz: { type: 'string', maxLength: 64, default: 'UTC' },
        }),
        response: {
          200: s.obj({
            items: { type: 'array', items: item },
            counters: {
              ...s.obj({ overdue: s.int, dueToday: s.int, withoutPlanned: s.int }),
              nullable: true,
            },
          }),
          ...s.errors(400, 401),
        },
      },
    },
    async (request) => {
      const { tz, limit } = request.query;
      if (!validZone(tz))
        throw new AppError('VALIDATION', `tz: "${tz}" is not a known time zone`, { fields: ['tz'] });
      return myWork(ctx.db, viewerOf(request), { limit, tz });
    },
  );

  const give =
    (mode: 'take' | 'transfer') =>
    async (
      body: { entityType: ClientRef['type']; entityId: number; operatorId?: number },
      request: Parameters<typeof operatorOf>[0],
    ) => {
      const me = operatorOf(request);
      const ref: ClientRef = { type: body.entityType, id: body.entityId };
      const r = await giveClient(
        ctx.db,
        viewerOf(request),
        me,
        ref,
        mode === 'take' ? me : body.operatorId!,
        mode,
      );
      ctx.notices.publish(r.notices);
      return { entityType: ref.type, entityId: ref.id, from: r.from, to: r.to };
    };
  const take = give('take');
  const transfer = give('transfer');

  app.post<{ Body: { entityType: ClientRef['type']; entityId: number } }>(
    '/v1/console/take',
    {
      onRequest,
      schema: {
        tags,
        summary:
          "Take an unassigned client from my regions' queue (with their planned work and open conversations)",
        description: '409 when another operator took it first. Operator token or session only.',
        security: s.security,
        body: s.body(clientRef, ['entityType', 'entityId']),
        response: { 200: given, ...s.errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => take(request.body, request),
  );

  app.post<{ Body: { entityType: ClientRef['type']; entityId: number; operatorId: number } }>(
    '/v1/console/transfer',
    {
      onRequest,
      schema: {
        tags,
        summary: 'Transfer a client (with their planned work and open conversations) to another operator',
        description:
          'An operator transfers the clients they are responsible for; a supervisor any client of their regions, ' +
          'only to an operator of their regions (else 403); the admin role anything. The target must be active (422).',
        security: s.security,
        body: s.body({ ...clientRef, operatorId: s.id }, ['entityType', 'entityId', 'operatorId']),
        response: { 200: given, ...s.errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => transfer(request.body, request),
  );
}

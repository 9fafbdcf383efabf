import type { FastifyInstance } from 'fastify';
import { operatorCounters } from '../../crm-core/repositories/activity.repository.js';
import { slaOverdueCount } from '../../crm-core/repositories/automation-timer.repository.js';
import { getOperator } from '../../crm-core/repositories/operator.repository.js';
import { operatorAvailabilityChanged } from '../../crm-core/services/automation-hooks.service.js';
import { setPresence } from '../../crm-core/services/presence.service.js';
import { AppError } from '../../lib/errors.js';
import { operatorOf } from '../auth.js';
import type { RouteContext } from './context.js';
import { body, errors, id, int, obj, security, str } from './schemas.js';

/** An IANA zone name Intl accepts ("Europe/Moscow"); "today" in the counters is the operator's day. */
function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** What an operator does about themself: their work counters and their availability for new contacts. */
export function operatorRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Querystring: { operatorId?: number; tz: string } }>(
    '/v1/operators/me/counters',
    {
      onRequest: ctx.auth.requireOperator,
      schema: {
        tags: ['operators'],
        summary:
          "The caller's overdue and due-today planned activities, open leads and deals with nothing planned, and what is past a first-response SLA unanswered (slaOverdue)",
        description:
          'With the admin token, `operatorId` says whose counters; operators always get their own.',
        security,
        querystring: body({ operatorId: id, tz: { type: 'string', maxLength: 64, default: 'UTC' } }),
        response: {
          200: obj({
            operatorId: int,
            overdue: int,
            dueToday: int,
            leadsWithoutPlanned: int,
            dealsWithoutPlanned: int,
            slaOverdue: int,
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const operatorId = operatorOf(request, request.query.operatorId);
      const { tz } = request.query;
      if (!validZone(tz))
        throw new AppError('VALIDATION', `tz: "${tz}" is not a known time zone`, { fields: ['tz'] });
      if (!(await getOperator(ctx.db, operatorId))) {
        throw new AppError('NOT_FOUND', `operatorId: operator ${operatorId} not found`, {
          fields: ['operatorId'],
        });
      }
      const c = await operatorCounters(ctx.db, operatorId, new Date(), tz);
      const slaOverdue = await slaOverdueCount(ctx.db, operatorId);
      return {
        operatorId,
        overdue: c.overdue,
        dueToday: c.due_today,
        leadsWithoutPlanned: c.leads_without_planned,
        dealsWithoutPlanned: c.deals_without_planned,
        slaOverdue,
      };
    },
  );

  app.patch<{ Body: { status: 'online' | 'away' | 'offline' } }>(
    '/v1/operators/me/status',
    {
      onRequest: ctx.auth.requireOperator,
      schema: {
        tags: ['operators'],
        summary: 'Set the caller online (takes new contacts), away (signed in, takes none) or offline',
        description:
          'Operator token or session only; the admin changes an operator through PATCH /v1/admin/operators/:id. ' +
          "The operator's regions hear of it (`presence` notice on the console socket).",
        security,
        body: body({ status: { type: 'string', enum: ['online', 'away', 'offline'] } }, ['status']),
        response: { 200: obj({ id: int, status: str }), ...errors(400, 401, 403) },
      },
    },
    async (request) => {
      const me = operatorOf(request);
      // Going offline schedules the offline_reassign rules' timers with the change (README "Automation").
      const notices = await ctx.db.transaction(async (tx) => {
        const n = await setPresence(tx, me, request.body.status);
        await operatorAvailabilityChanged(tx, me, request.body.status);
        return n;
      });
      ctx.notices.publish(notices);
      return { id: me, status: request.body.status };
    },
  );
}

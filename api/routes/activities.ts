import type { FastifyInstance } from 'fastify';
import {
  type ActivityChange,
  changeActivity,
  completeActivity,
  createActivity,
  type EntityKind,
  type NewWork,
} from '../../crm-core/services/activity.service.js';
import { activityNotices } from '../../crm-core/services/console-notices.js';
import { operatorOf } from '../auth.js';
import type { RouteContext } from './context.js';
import { camel } from './present.js';
import * as s from './schemas.js';

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;
const ENTITIES: [string, EntityKind][] = [
  ['leads', 'lead'],
  ['contacts', 'contact'],
  ['companies', 'company'],
  ['deals', 'deal'],
];

/** Working with activities (crm-core/services/activity.service.ts). Operator tokens: who did it is recorded. */
export function activityRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireOperator;

  app.post<{ Params: { id: number }; Body: { result?: string } }>(
    '/v1/activities/:id/complete',
    {
      onRequest,
      preValidation: s.optionalBody,
      schema: {
        tags: ['activities'],
        summary: 'Complete a planned callback, task, meeting or call',
        description:
          'It stops counting as overdue or due today at once (counters count planned activities only). ' +
          '409 if it is already completed.',
        security: s.security,
        params: s.idParams,
        body: s.body({ result: text(1000) }),
        response: { 200: s.activity, ...s.errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const row = await completeActivity(ctx.db, request.params.id, request.body, operatorOf(request));
      ctx.notices.later(() => activityNotices(ctx.db, row.id, operatorOf(request)));
      return camel(row);
    },
  );

  app.patch<{ Params: { id: number }; Body: ActivityChange }>(
    '/v1/activities/:id',
    {
      onRequest,
      schema: {
        tags: ['activities'],
        summary: 'Reschedule (deadline), reassign (responsibleId) or re-word a planned activity',
        description: 'Each change is appended to details.changes with the operator who made it.',
        security: s.security,
        params: s.idParams,
        body: s.body({
          deadline: s.time,
          responsibleId: s.id,
          subject: text(500),
          body: { type: 'string', maxLength: 10_000, nullable: true },
        }),
        response: { 200: s.activity, ...s.errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (request) => {
      const row = await changeActivity(ctx.db, request.params.id, request.body, operatorOf(request));
      ctx.notices.later(() => activityNotices(ctx.db, row.id, operatorOf(request)));
      return camel(row);
    },
  );

  for (const [plural, type] of ENTITIES) {
    app.post<{ Params: { id: number }; Body: NewWork }>(
      `/v1/${plural}/:id/activities`,
      {
        onRequest,
        schema: {
          tags: ['activities'],
          summary: `Add a task, callback, meeting (planned, with a deadline) or a note to a ${type}`,
          description:
            'The responsible defaults to the caller. A merged or converted entity answers 409 naming what it became.',
          security: s.security,
          params: s.idParams,
          body: s.body(
            {
              type: { type: 'string', enum: ['task', 'callback', 'meeting', 'note'] },
              subject: text(500),
              body: { type: 'string', maxLength: 10_000 },
              deadline: s.time,
              responsibleId: s.id,
            },
            ['type', 'subject'],
          ),
          response: { 201: s.activity, ...s.errors(400, 401, 403, 404, 409, 422) },
        },
      },
      async (request, reply) => {
        const row = await createActivity(
          ctx.db,
          { type, id: request.params.id },
          request.body,
          operatorOf(request),
        );
        ctx.notices.later(() => activityNotices(ctx.db, row.id, operatorOf(request)));
        return reply.code(201).send(camel(row));
      },
    );
  }
}

import type { FastifyInstance } from 'fastify';
import { listColleagues } from '../../crm-core/repositories/colleague.repository.js';
import { viewerOf } from '../auth.js';
import type { RouteContext } from './context.js';
import { camel } from './present.js';
import * as s from './schemas.js';

const colleague = s.obj({
  id: s.int,
  name: s.str,
  status: s.str,
  regionIds: { type: 'array', items: s.int },
});

/** Whom the console offers to transfer a client to: the operators of my regions (the admin role: everyone). */
export function consoleColleagueRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get(
    '/v1/console/operators',
    {
      onRequest: ctx.auth.requireOperator,
      schema: {
        tags: ['console'],
        summary:
          "Active operators of the caller's regions, with their presence (the console's transfer list)",
        description: 'Names and presence only. The admin role gets every active operator.',
        security: s.security,
        response: { 200: s.obj({ items: { type: 'array', items: colleague } }), ...s.errors(401) },
      },
    },
    async (request) => {
      const v = viewerOf(request);
      return { items: (await listColleagues(ctx.db, v.role === 'admin' ? null : v.regionIds)).map(camel) };
    },
  );
}

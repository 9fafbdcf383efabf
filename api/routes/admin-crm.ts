import type { FastifyInstance } from 'fastify';
import {
  getJunkReturn,
  JUNK_RETURNS,
  type JunkReturn,
  setJunkReturn,
} from '../../crm-core/services/crm-settings.js';
import type { RouteContext } from './context.js';
import * as s from './schemas.js';

const policy = s.obj({ policy: { type: 'string', enum: [...JUNK_RETURNS] } });

/** CRM workflow settings an administrator chooses (crm-core/services/crm-settings.ts). */
export function adminCrmRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireAdmin;
  app.get(
    '/v1/admin/settings/junk-return',
    {
      onRequest,
      schema: {
        tags: ['admin: settings'],
        summary: 'What a client whose lead was closed as junk gets when they come back',
        security: s.security,
        response: { 200: policy, ...s.errors(401) },
      },
    },
    async () => ({ policy: await getJunkReturn(ctx.db) }),
  );
  app.put<{ Body: { policy: JunkReturn } }>(
    '/v1/admin/settings/junk-return',
    {
      onRequest,
      schema: {
        tags: ['admin: settings'],
        summary: 'new_lead (default): a new lead takes the identities over; reopen: the junk lead reopens',
        security: s.security,
        body: s.body({ policy: { type: 'string', enum: [...JUNK_RETURNS] } }, ['policy']),
        response: { 200: policy, ...s.errors(400, 401) },
      },
    },
    async (request) => {
      await setJunkReturn(ctx.db, request.body.policy);
      return { policy: request.body.policy };
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { DEAL_OPEN_STAGES } from '../../crm-core/services/deal.service.js';
import {
  type ConvertInput,
  changeLeadStatus,
  convertLead,
  type SettableStatus,
} from '../../crm-core/services/lead-workflow.service.js';
import { workChanged } from '../../realtime/notices.js';
import { operatorOf } from '../auth.js';
import type { RouteContext } from './context.js';
import { camel } from './present.js';
import * as s from './schemas.js';

const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const moved = s.obj({
  identities: s.int,
  activities: s.int,
  conversations: s.int,
  deals: s.int,
  links: s.int,
});
export const movedSchema = moved;

/** The lead lifecycle (crm-core/services/lead-workflow.service.ts). Operator tokens: the change is theirs. */
export function leadWorkflowRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireOperator;

  app.patch<{ Params: { id: number }; Body: { status: SettableStatus; reason?: string } }>(
    '/v1/leads/:id/status',
    {
      onRequest,
      schema: {
        tags: ['leads'],
        summary: 'Move a lead to new, in_progress or junk (junk needs a reason)',
        description:
          "The change and the operator who made it go on the lead's timeline. Converted and merged leads do not " +
          'change any more (409). Conversion is POST /v1/leads/:id/convert, not a status.',
        security: s.security,
        params: s.idParams,
        body: s.body(
          {
            status: { type: 'string', enum: ['new', 'in_progress', 'junk'] },
            reason: { type: 'string', minLength: 1, maxLength: 500 },
          },
          ['status'],
        ),
        response: { 200: s.lead, ...s.errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const lead = await changeLeadStatus(ctx.db, request.params.id, request.body, operatorOf(request));
      // A lead leaving `new` leaves the work lists (or comes back to them).
      ctx.notices.publish(
        workChanged(
          [{ responsibleId: lead.responsible_id, regionId: lead.region_id }],
          [operatorOf(request)],
        ),
      );
      return camel(lead);
    },
  );

  app.post<{ Params: { id: number }; Body: ConvertInput }>(
    '/v1/leads/:id/convert',
    {
      onRequest,
      preValidation: s.optionalBody,
      schema: {
        tags: ['leads'],
        summary: 'Convert a lead into a contact (new or existing), optionally with a company and a deal',
        description:
          'One transaction: every identity, activity (planned callbacks included), conversation and deal of the ' +
          'lead moves to the contact, and later contacts from those identities land on it. Safe while the router ' +
          'runs; 503 ENTITY_BUSY (Retry-After) if the router kept the lead busy through every retry.',
        security: s.security,
        params: s.idParams,
        body: s.body({
          contact: s.body({ name }),
          contactId: s.id,
          company: s.body({ name }, ['name']),
          companyId: s.id,
          deal: s.body({
            title: name,
            amount: { type: 'number', minimum: 0, maximum: 1e12 },
            stage: { type: 'string', enum: [...DEAL_OPEN_STAGES] },
          }),
        }),
        response: {
          200: s.obj({ leadId: s.int, contactId: s.int, companyId: s.nint, dealId: s.nint, moved }),
          ...s.errors(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request) => convertLead(ctx.db, request.params.id, request.body, operatorOf(request)),
  );
}

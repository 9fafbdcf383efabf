import type { FastifyInstance } from 'fastify';
import type { DealRow } from '../../crm-core/repositories/deal.repository.js';
import { isEntityVisible } from '../../crm-core/repositories/visibility.repository.js';
import {
  changeDealStage,
  closeDeal,
  createDeal,
  DEAL_OPEN_STAGES,
  type DealInput,
  getDeal,
  listDeals,
} from '../../crm-core/services/deal.service.js';
import { AppError } from '../../lib/errors.js';
import { operatorOf, viewerOf } from '../auth.js';
import type { RouteContext } from './context.js';
import { camel } from './present.js';
import * as s from './schemas.js';

const deal = s.obj({
  id: s.int,
  title: s.str,
  stage: s.str,
  contactId: s.nint,
  companyId: s.nint,
  leadId: s.nint,
  responsibleId: s.nint,
  amount: { type: 'number', nullable: true },
  closed: s.bool,
  outcome: s.nstr,
  closeReason: s.nstr,
  closedAt: s.ntime,
  createdAt: s.time,
  updatedAt: s.time,
});
const openStage = { type: 'string', enum: [...DEAL_OPEN_STAGES] } as const;
// numeric comes back from PostgreSQL as a string; the API speaks numbers.
const present = (d: DealRow) => ({ ...camel(d), amount: d.amount == null ? null : Number(d.amount) });

interface DealQuery {
  stage?: string;
  closed?: boolean;
  responsible?: number;
  contactId?: number;
  companyId?: number;
  limit: number;
  offset: number;
}

/** Deals: a sale bound to a contact and/or company, moving through stages to won or lost (deal.service.ts). */
export function dealRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireOperator;
  const schema = (summary: string, parts: object, ok: Record<number, unknown>, ...codes: number[]) => ({
    tags: ['deals'],
    summary,
    security: s.security,
    ...parts,
    response: { ...ok, ...s.errors(400, 401, ...codes) },
  });

  app.get<{ Querystring: DealQuery }>(
    '/v1/deals',
    {
      onRequest,
      schema: schema(
        'List deals, newest first',
        {
          querystring: s.body({
            stage: { type: 'string', enum: [...DEAL_OPEN_STAGES, 'won', 'lost'] },
            closed: s.bool,
            responsible: s.id,
            contactId: s.id,
            companyId: s.id,
            ...s.page(),
          }),
        },
        { 200: s.list(deal) },
      ),
    },
    async (request) => {
      const { responsible, ...q } = request.query;
      const rows = await listDeals(ctx.db, { ...q, responsibleId: responsible }, viewerOf(request));
      return { items: rows.map(present), limit: q.limit, offset: q.offset };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/v1/deals/:id',
    { onRequest, schema: schema('One deal', { params: s.idParams }, { 200: deal }, 404) },
    async (request) => {
      // Another's deal is 404 like a missing one (README "Sign-in, roles and what each role sees").
      if (!(await isEntityVisible(ctx.db, viewerOf(request), 'deal', request.params.id))) {
        throw new AppError('NOT_FOUND', `id: deal ${request.params.id} not found`, { fields: ['id'] });
      }
      return present(await getDeal(ctx.db, request.params.id));
    },
  );

  app.post<{ Body: DealInput }>(
    '/v1/deals',
    {
      onRequest,
      schema: schema(
        'Create a deal for a contact and/or company (the responsible defaults to the caller)',
        {
          body: s.body(
            {
              title: { type: 'string', minLength: 1, maxLength: 200 },
              contactId: s.id,
              companyId: s.id,
              stage: openStage,
              amount: { type: 'number', minimum: 0, maximum: 1e12 },
              responsibleId: s.id,
            },
            ['title'],
          ),
        },
        { 201: deal },
        403,
        409,
        422,
      ),
    },
    async (request, reply) =>
      reply.code(201).send(present(await createDeal(ctx.db, request.body, operatorOf(request)))),
  );

  app.patch<{ Params: { id: number }; Body: { stage: string } }>(
    '/v1/deals/:id/stage',
    {
      onRequest,
      schema: schema(
        'Move an open deal to another stage (on its timeline)',
        { params: s.idParams, body: s.body({ stage: openStage }, ['stage']) },
        { 200: deal },
        403,
        404,
        409,
      ),
    },
    async (request) =>
      present(await changeDealStage(ctx.db, request.params.id, request.body.stage, operatorOf(request))),
  );

  app.post<{ Params: { id: number }; Body: { outcome: 'won' | 'lost'; reason?: string } }>(
    '/v1/deals/:id/close',
    {
      onRequest,
      schema: schema(
        'Close a deal as won or lost (with an optional reason)',
        {
          params: s.idParams,
          body: s.body(
            {
              outcome: { type: 'string', enum: ['won', 'lost'] },
              reason: { type: 'string', minLength: 1, maxLength: 500 },
            },
            ['outcome'],
          ),
        },
        { 200: deal },
        403,
        404,
        409,
      ),
    },
    async (request) => present(await closeDeal(ctx.db, request.params.id, request.body, operatorOf(request))),
  );
}

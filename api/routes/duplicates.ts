import type { FastifyInstance } from 'fastify';
import type { OwnerInfo } from '../../crm-core/repositories/identity.repository.js';
import {
  dismissDuplicate,
  listDuplicates,
  mergeDuplicate,
} from '../../crm-core/services/duplicate.service.js';
import { operatorOf, viewerOf } from '../auth.js';
import type { RouteContext } from './context.js';
import { movedSchema } from './lead-workflow.js';
import { camel } from './present.js';
import * as s from './schemas.js';

const entityType = { type: 'string', enum: ['lead', 'contact', 'company'] } as const;
const side = s.obj({
  type: s.str,
  id: s.int,
  name: s.nstr,
  status: s.nstr,
  mergedInto: { ...s.obj({ type: s.str, id: s.int }), nullable: true },
});
const candidate = s.obj({
  id: s.int,
  chosen: side,
  other: side,
  identityKind: s.str,
  identityValue: s.str,
  eventId: s.str,
  resolved: s.bool,
  resolution: s.nstr,
  resolvedBy: s.nint,
  resolvedAt: s.ntime,
  survivor: { ...s.obj({ type: s.str, id: s.int }), nullable: true },
  createdAt: s.time,
});

const sideOf = (type: string, id: number, o: OwnerInfo | undefined) => ({
  type,
  id,
  name: o?.name ?? null,
  status: o?.status ?? null,
  mergedInto: o?.merged_into_type ? { type: o.merged_into_type, id: o.merged_into_id } : null,
});

function present(
  c: Awaited<ReturnType<typeof listDuplicates>>[number]['candidate'],
  chosen?: OwnerInfo,
  other?: OwnerInfo,
) {
  const row = camel(c);
  return {
    id: c.id,
    chosen: sideOf(c.chosen_type, c.chosen_id, chosen),
    other: sideOf(c.other_type, c.other_id, other),
    identityKind: c.identity_kind,
    identityValue: c.identity_value,
    eventId: c.event_id,
    resolved: c.resolved,
    resolution: c.resolution,
    resolvedBy: c.resolved_by,
    resolvedAt: row.resolvedAt,
    survivor: c.survivor_type ? { type: c.survivor_type, id: c.survivor_id } : null,
    createdAt: row.createdAt,
  };
}

/** Duplicate candidates the router records, and what operators do about them (crm-core/services/duplicate.service.ts). */
export function duplicateRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireOperator;

  app.get<{ Querystring: { state: 'open' | 'resolved' | 'all'; limit: number; offset: number } }>(
    '/v1/duplicates',
    {
      onRequest,
      schema: {
        tags: ['duplicates'],
        summary: "Duplicate candidates: entities one client's identities pointed at, newest first",
        description: '`chosen` is where the router put the contact; `other` the entity that also matched.',
        security: s.security,
        querystring: s.body({
          state: { type: 'string', enum: ['open', 'resolved', 'all'], default: 'open' },
          ...s.page(),
        }),
        response: { 200: s.list(candidate), ...s.errors(400, 401) },
      },
    },
    async (request) => {
      const rows = await listDuplicates(ctx.db, request.query, viewerOf(request));
      return {
        items: rows.map((r) => present(r.candidate, r.chosen, r.other)),
        limit: request.query.limit,
        offset: request.query.offset,
      };
    },
  );

  app.post<{
    Params: { id: number };
    Body: { survivor: { type: 'lead' | 'contact' | 'company'; id: number } };
  }>(
    '/v1/duplicates/:id/merge',
    {
      onRequest,
      schema: {
        tags: ['duplicates'],
        summary: 'Merge the pair into the survivor you choose',
        description:
          'Identities, activities, conversations and deals move to the survivor; the other entity is kept, ' +
          'marked merged and pointing at it, and every later contact finds the survivor. A contact or company ' +
          'absorbs a lead or one of its own kind; a lead absorbs only a lead (422 otherwise). Safe while the ' +
          'router runs; 503 ENTITY_BUSY (Retry-After) if the router kept the pair busy through every retry.',
        security: s.security,
        params: s.idParams,
        body: s.body({ survivor: s.body({ type: entityType, id: s.id }, ['type', 'id']) }, ['survivor']),
        response: {
          200: s.obj({
            candidate,
            survivor: s.obj({ type: s.str, id: s.int }),
            merged: s.obj({ type: s.str, id: s.int }),
            moved: movedSchema,
          }),
          ...s.errors(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request) => {
      const r = await mergeDuplicate(ctx.db, request.params.id, request.body.survivor, operatorOf(request));
      return { ...r, candidate: present(r.candidate) };
    },
  );

  app.post<{ Params: { id: number } }>(
    '/v1/duplicates/:id/dismiss',
    {
      onRequest,
      schema: {
        tags: ['duplicates'],
        summary: 'Dismiss a candidate: the two entities are different clients',
        security: s.security,
        params: s.idParams,
        response: { 200: candidate, ...s.errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => present(await dismissDuplicate(ctx.db, request.params.id, operatorOf(request))),
  );
}

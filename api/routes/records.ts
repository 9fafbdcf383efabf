import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../crm-core/db/database.js';
import * as activities from '../../crm-core/repositories/activity.repository.js';
import { identitiesOf, type OwnerType } from '../../crm-core/repositories/identity.repository.js';
import * as leads from '../../crm-core/repositories/lead.repository.js';
import { listRegions } from '../../crm-core/repositories/region.repository.js';
import { getDeal, operatorsBrief } from '../../crm-core/repositories/report.repository.js';
import { isEntityVisible, type Viewer } from '../../crm-core/repositories/visibility.repository.js';
import { AppError } from '../../lib/errors.js';
import { viewerOf } from '../auth.js';
import type { RouteContext } from './context.js';
import { camel } from './present.js';
import * as s from './schemas.js';

type Entity = 'lead' | 'contact' | 'company' | 'deal';
const ENTITIES = new Map<string, Entity>([
  ['leads', 'lead'],
  ['contacts', 'contact'],
  ['companies', 'company'],
  ['deals', 'deal'],
]);

const notFound = (what: string, id: number | string) =>
  new AppError('NOT_FOUND', `id: ${what} ${id} not found`, { fields: ['id'] });

/**
 * An entity the viewer may see. One not theirs is answered 404 exactly like one that does not exist (not 403),
 * so ids cannot be probed for what exists.
 */
async function fetchEntity(db: Queryable, viewer: Viewer, type: Entity, id: number) {
  if (!(await isEntityVisible(db, viewer, type, id))) throw notFound(type, id);
  const get = { lead: leads.getLead, contact: leads.getContact, company: leads.getCompany, deal: getDeal }[
    type
  ];
  const row = await get(db, id);
  if (!row) throw notFound(type, id);
  return row as Record<string, unknown> & { responsible_id?: number | null; region_id?: number | null };
}

/** A lead, contact or company with what an operator needs next to it: identities, responsible, region. */
async function detail(
  db: Queryable,
  viewer: Viewer,
  type: OwnerType,
  id: number,
): Promise<Record<string, unknown>> {
  const row = await fetchEntity(db, viewer, type, id);
  const [responsible] = row.responsible_id != null ? await operatorsBrief(db, [row.responsible_id]) : [];
  const region =
    row.region_id != null ? (await listRegions(db)).find((r) => r.id === row.region_id) : undefined;
  return {
    ...camel(row),
    identities: await identitiesOf(db, type, id),
    responsible: responsible ?? null,
    region: region ? { id: region.id, code: region.code, name: region.name } : null,
  };
}

const detailOf = (base: ReturnType<typeof s.obj>) =>
  s.obj({
    ...base.properties,
    identities: { type: 'array', items: s.identity },
    responsible: s.operatorBrief,
    region: s.regionBrief,
  });
const party = s.obj({ id: s.int, name: s.nstr, responsibleId: s.nint, regionId: s.nint, createdAt: s.time });
const leadDetail = detailOf(
  s.obj({ ...s.lead.properties, source: s.obj({ type: s.str, key: s.str, name: s.nstr, channel: s.str }) }),
);
const idRoute = (tags: string, summary: string, response: unknown) => ({
  schema: {
    tags: [tags],
    summary,
    security: s.security,
    params: s.idParams,
    response: { 200: response, ...s.errors(400, 401, 404) },
  },
});

interface LeadQuery {
  status?: string;
  responsible?: number;
  source?: string;
  createdFrom?: string;
  createdTo?: string;
  limit: number;
  offset: number;
}
interface ActivityQuery {
  ownerType?: string;
  ownerId?: number;
  responsible?: number;
  state?: string;
  type?: string;
  limit: number;
  offset: number;
}

/** Read-only CRM records for the console, each filtered by the caller's role (visibility.repository.ts). */
export function recordRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireOperator;
  const db = ctx.db;

  app.get<{ Querystring: LeadQuery }>(
    '/v1/leads',
    {
      onRequest,
      schema: {
        tags: ['leads'],
        summary: 'List leads, newest first',
        description:
          '`source` matches the source key, the source name or the channel. createdFrom is inclusive, createdTo ' +
          'exclusive; both are ISO 8601 date-times with a zone.',
        security: s.security,
        querystring: s.body({
          status: { type: 'string', enum: ['new', 'in_progress', 'converted', 'junk', 'merged'] },
          responsible: s.id,
          source: { type: 'string', minLength: 1, maxLength: 200 },
          createdFrom: s.time,
          createdTo: s.time,
          ...s.page(),
        }),
        response: { 200: s.list(s.lead), ...s.errors(400, 401) },
      },
    },
    async (request) => {
      const { responsible, ...q } = request.query;
      const rows = await leads.listLeads(db, { ...q, responsibleId: responsible }, viewerOf(request));
      return { items: rows.map(camel), limit: q.limit, offset: q.offset };
    },
  );

  app.get<{ Params: { id: number } }>(
    '/v1/leads/:id',
    {
      onRequest,
      ...idRoute('leads', 'A lead with identities, responsible, region, source and UTM', leadDetail),
    },
    async (request) => {
      const d = await detail(db, viewerOf(request), 'lead', request.params.id);
      return {
        ...d,
        source: { type: d.sourceType, key: d.sourceKey, name: d.sourceName, channel: d.channel },
      };
    },
  );
  app.get<{ Params: { id: number } }>(
    '/v1/contacts/:id',
    { onRequest, ...idRoute('contacts', 'A contact with identities', detailOf(party)) },
    async (request) => detail(db, viewerOf(request), 'contact', request.params.id),
  );
  app.get<{ Params: { id: number } }>(
    '/v1/companies/:id',
    { onRequest, ...idRoute('companies', 'A company with identities', detailOf(party)) },
    async (request) => detail(db, viewerOf(request), 'company', request.params.id),
  );

  app.get<{ Querystring: ActivityQuery }>(
    '/v1/activities',
    {
      onRequest,
      schema: {
        tags: ['activities'],
        summary: 'List activities, newest first',
        description: 'ownerType `queue` lists what arrived without any identity (withheld numbers...).',
        security: s.security,
        querystring: s.body({
          ownerType: { type: 'string', enum: ['lead', 'contact', 'company', 'deal', 'queue'] },
          ownerId: s.id,
          responsible: s.id,
          state: { type: 'string', enum: ['planned', 'completed'] },
          type: {
            type: 'string',
            enum: ['call', 'email', 'message', 'form', 'callback', 'task', 'meeting', 'note', 'system'],
          },
          ...s.page(),
        }),
        response: { 200: s.list(s.activity), ...s.errors(400, 401) },
      },
    },
    async (request) => {
      const { responsible, ...q } = request.query;
      const rows = await activities.listActivities(
        db,
        { ...q, responsibleId: responsible },
        viewerOf(request),
      );
      return { items: rows.map(camel), limit: q.limit, offset: q.offset };
    },
  );

  app.get<{ Params: { entity: string; id: number }; Querystring: { limit: number } }>(
    '/v1/:entity/:id/timeline',
    {
      onRequest,
      schema: {
        tags: ['activities'],
        summary: 'History of a lead, contact, company or deal, newest first',
        description:
          'entity is leads, contacts, companies or deals. A contact also shows the lead it came from.',
        security: s.security,
        params: s.body({ entity: s.str, id: s.id }, ['entity', 'id']),
        querystring: s.body({ limit: s.page(500, 100).limit }),
        response: {
          200: s.obj({ entityType: s.str, entityId: s.int, items: { type: 'array', items: s.activity } }),
          ...s.errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const type = ENTITIES.get(request.params.entity);
      // Unknown kinds are a missing resource, like an unknown id, not a malformed request.
      if (!type) {
        throw new AppError(
          'NOT_FOUND',
          `entity: "${request.params.entity}" is not one of leads, contacts, companies, deals`,
          { fields: ['entity'] },
        );
      }
      await fetchEntity(db, viewerOf(request), type, request.params.id);
      const rows = await activities.timeline(db, type, request.params.id, request.query.limit);
      return { entityType: type, entityId: request.params.id, items: rows.map(camel) };
    },
  );
}

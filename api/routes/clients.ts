import type { FastifyInstance } from 'fastify';
import { isEntityVisible } from '../../crm-core/repositories/visibility.repository.js';
import { type LookupQuery, lookupClient } from '../../router/client-lookup.js';
import { viewerOf } from '../auth.js';
import type { RouteContext } from './context.js';
import { bool, errors, identity, int, nint, nstr, obj, operatorBrief, security, str } from './schemas.js';

const entity = { type: 'string', enum: ['lead', 'contact', 'company'] } as const;
const matched = { type: 'array', items: obj({ kind: str, value: str }) } as const;

/** One schema for both answers (found or not): the serializer writes only the properties present. */
const lookupResponse = obj(
  {
    found: bool,
    entityType: entity,
    entityId: int,
    name: nstr,
    responsible: { ...operatorBrief, properties: { ...operatorBrief.properties, active: bool } },
    matchedBy: matched,
    duplicates: {
      type: 'array',
      items: obj({ entityType: entity, entityId: int, name: nstr, matchedBy: matched }),
    },
    identities: { type: 'array', items: identity },
    wouldAssign: obj({ regionId: nint, regionRule: nstr, operatorId: nint, reason: str }),
  },
  ['found'],
);

export function clientRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Querystring: LookupQuery }>(
    '/v1/clients/lookup',
    {
      onRequest: ctx.auth.requireOperator,
      schema: {
        tags: ['clients'],
        summary: 'Find the client behind a phone, email or Telegram id',
        description:
          'Values are normalised as the connectors do (phones to E.164 with the default country) and matched the ' +
          'way the router matches contacts: a converted lead answers with its contact, a junk lead with nothing. ' +
          'For an unknown client `wouldAssign` predicts the region and operator a first contact would get now ' +
          '(nothing is written). At least one of phone, email, telegram is required. A client the caller may ' +
          "not see (another operator's, another region's) is answered `found: false` without a prediction, " +
          'and duplicates the caller may not see are left out.',
        security,
        querystring: {
          type: 'object',
          properties: {
            phone: { type: 'string', maxLength: 64 },
            email: { type: 'string', maxLength: 320 },
            telegram: { type: 'string', maxLength: 128 },
          },
        },
        response: { 200: lookupResponse, ...errors(400, 401) },
      },
    },
    async (request) => {
      const viewer = viewerOf(request);
      const r = await lookupClient(
        ctx.db,
        request.query,
        ctx.config.defaultCountry,
        {},
        { regions: ctx.regions.get },
      );
      if (!r.found || viewer.role === 'admin') return r;
      if (!(await isEntityVisible(ctx.db, viewer, r.entityType, r.entityId))) {
        return { found: false };
      }
      const duplicates = [];
      for (const d of r.duplicates) {
        if (await isEntityVisible(ctx.db, viewer, d.entityType, d.entityId)) duplicates.push(d);
      }
      return { ...r, duplicates };
    },
  );
}

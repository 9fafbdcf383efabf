import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../crm-core/db/database.js';
import { activeOperatorIds } from '../../crm-core/repositories/operator.repository.js';
import * as repo from '../../crm-core/repositories/region.repository.js';
import { AppError } from '../../lib/errors.js';
import type { RouteContext } from './context.js';
import { camel } from './present.js';
import * as s from './schemas.js';

const fields = {
  code: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' },
  name: { type: 'string', minLength: 1, maxLength: 200 },
  strategy: { type: 'string', enum: ['round_robin', 'least_loaded'] },
  priority: { type: 'integer', minimum: -1_000_000, maximum: 1_000_000 },
  defaultOperatorId: { ...s.id, nullable: true },
  rules: { type: 'array', items: s.regionRule, maxItems: 500 },
};

const DEFAULT_OPERATOR = 'default_operator_id';
const notFound = (id: number) => new AppError('NOT_FOUND', `id: region ${id} not found`, { fields: ['id'] });

async function load(db: Queryable, id: number) {
  const row = (await repo.listRegions(db)).find((r) => r.id === id);
  if (!row) throw notFound(id);
  return camel(row);
}

/**
 * Regions: rule lists (tried in region priority order, first match wins) and the assignment strategy. Every
 * change calls onRegionsChanged so this process's router drops its cached rules at once (others: within TTL).
 * Also the global default queue operator, who gets contacts no region could place.
 */
export function adminRegionRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireAdmin;
  const db = ctx.db;
  const schema = (summary: string, parts: object, ok: Record<number, unknown>, ...codes: number[]) => ({
    tags: ['admin: regions'],
    summary,
    security: s.security,
    ...parts,
    response: { ...ok, ...s.errors(401, ...codes) },
  });
  const changed = () => ctx.onRegionsChanged?.();

  app.get(
    '/v1/admin/regions',
    {
      onRequest,
      schema: schema(
        'List regions in priority order',
        {},
        { 200: s.obj({ items: { type: 'array', items: s.region } }) },
      ),
    },
    async () => ({
      items: (await repo.listRegions(db)).map(camel),
    }),
  );

  app.post<{ Body: repo.RegionInput }>(
    '/v1/admin/regions',
    {
      onRequest,
      schema: schema(
        'Create a region with its rules',
        { body: s.body(fields, ['code', 'name']) },
        { 201: s.region },
        400,
        409,
        422,
      ),
    },
    async (request, reply) => {
      const id = await db.transaction((tx) => repo.insertRegion(tx, request.body));
      changed();
      return reply.code(201).send(await load(db, id));
    },
  );

  app.get<{ Params: { id: number } }>(
    '/v1/admin/regions/:id',
    { onRequest, schema: schema('One region', { params: s.idParams }, { 200: s.region }, 400, 404) },
    async (request) => load(db, request.params.id),
  );

  app.patch<{ Params: { id: number }; Body: Partial<repo.RegionInput> }>(
    '/v1/admin/regions/:id',
    {
      onRequest,
      schema: schema(
        'Change a region (rules replaces the whole list)',
        { params: s.idParams, body: s.body(fields) },
        { 200: s.region },
        400,
        404,
        409,
        422,
      ),
    },
    async (request) => {
      const found = await db.transaction((tx) => repo.updateRegion(tx, request.params.id, request.body));
      if (!found) throw notFound(request.params.id);
      changed();
      return load(db, request.params.id);
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/v1/admin/regions/:id',
    {
      onRequest,
      schema: schema(
        'Delete a region no lead, contact or company is in',
        { params: s.idParams },
        { 204: { type: 'null', description: 'Deleted' } },
        400,
        404,
        422,
      ),
    },
    async (request, reply) => {
      if (!(await repo.deleteRegion(db, request.params.id))) throw notFound(request.params.id);
      changed();
      return reply.code(204).send();
    },
  );

  const defaultOperator = s.obj({ operatorId: s.nint });
  app.get(
    '/v1/admin/settings/default-operator',
    { onRequest, schema: schema('The global default queue operator', {}, { 200: defaultOperator }) },
    async () => ({
      operatorId: (await repo.getSetting<number | null>(db, DEFAULT_OPERATOR)) ?? null,
    }),
  );

  app.put<{ Body: { operatorId: number | null } }>(
    '/v1/admin/settings/default-operator',
    {
      onRequest,
      schema: schema(
        'Set (or clear with null) the operator who gets contacts no region places',
        { body: s.body({ operatorId: { ...s.id, nullable: true } }, ['operatorId']) },
        { 200: defaultOperator },
        400,
        422,
      ),
    },
    async (request) => {
      const { operatorId } = request.body;
      // app_settings has no foreign key, so the check a constraint would make is made here, with the same answer.
      if (operatorId != null && !(await activeOperatorIds(db, [operatorId])).has(operatorId)) {
        throw new AppError('UNPROCESSABLE', `operatorId: ${operatorId} is not an active operator`, {
          fields: ['operatorId'],
        });
      }
      await repo.putSetting(db, DEFAULT_OPERATOR, operatorId);
      return { operatorId };
    },
  );
}

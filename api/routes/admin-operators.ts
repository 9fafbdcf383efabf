import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../../crm-core/db/database.js';
import * as repo from '../../crm-core/repositories/operator.repository.js';
import { operatorAvailabilityChanged } from '../../crm-core/services/automation-hooks.service.js';
import { hashToken, newOperatorToken } from '../../crm-core/services/operator-tokens.js';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../crm-core/services/session.service.js';
import { AppError } from '../../lib/errors.js';
import { presenceChanged } from '../../realtime/notices.js';
import type { RouteContext } from './context.js';
import { camel } from './present.js';
import * as s from './schemas.js';

const fields = {
  login: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' },
  name: { type: 'string', minLength: 1, maxLength: 200 },
  email: { type: 'string', format: 'email', maxLength: 320 },
  extension: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9*#._-]+$' },
  status: { type: 'string', enum: ['online', 'away', 'offline'] },
  active: s.bool,
  regionIds: { type: 'array', items: s.id, maxItems: 1000, uniqueItems: true },
  role: { type: 'string', enum: ['operator', 'supervisor', 'admin'] },
  /** Write-only: stored as a scrypt hash; setting it signs the operator out everywhere. */
  password: { type: 'string', minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX },
};
type Input = repo.OperatorInput & { password?: string };
const withToken = s.obj({ operator: s.operator, token: s.str }, ['operator', 'token']);

const notFound = (id: number) =>
  new AppError('NOT_FOUND', `id: operator ${id} not found`, { fields: ['id'] });

async function load(db: Queryable, id: number) {
  const row = await repo.getOperator(db, id);
  if (!row) throw notFound(id);
  return camel(row);
}

/**
 * Operators, their role and password (write-only). Tokens are shown once, when issued (create, rotate); only their hash is stored. Operators are
 * never deleted, because history points at them: DELETE deactivates (their token stops working, they get no new
 * contacts, and clients they held are reassigned by the router on their next contact).
 */
export function adminOperatorRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireAdmin;
  const db = ctx.db;
  const schema = (summary: string, parts: object, ok: Record<number, unknown>, ...codes: number[]) => ({
    tags: ['admin: operators'],
    summary,
    security: s.security,
    ...parts,
    response: { ...ok, ...s.errors(401, ...codes) },
  });

  app.get(
    '/v1/admin/operators',
    {
      onRequest,
      schema: schema('List operators', {}, { 200: s.obj({ items: { type: 'array', items: s.operator } }) }),
    },
    async () => ({
      items: (await repo.listOperators(db)).map(camel),
    }),
  );

  app.post<{ Body: Input }>(
    '/v1/admin/operators',
    {
      onRequest,
      schema: schema(
        'Create an operator; the answer holds their API token, shown this once',
        { body: s.body(fields, ['login', 'name']) },
        { 201: withToken },
        400,
        409,
        422,
      ),
    },
    async (request, reply) => {
      const token = newOperatorToken();
      const { password, ...input } = request.body;
      // One transaction: an unknown region id must not leave an operator behind without regions.
      const id = await db.transaction((tx) => repo.insertOperator(tx, input, hashToken(token)));
      if (password !== undefined) await ctx.auth.sessions.setPassword(id, password);
      return reply.code(201).send({ operator: await load(db, id), token });
    },
  );

  app.get<{ Params: { id: number } }>(
    '/v1/admin/operators/:id',
    { onRequest, schema: schema('One operator', { params: s.idParams }, { 200: s.operator }, 400, 404) },
    async (request) => load(db, request.params.id),
  );

  app.patch<{ Params: { id: number }; Body: Partial<Input> }>(
    '/v1/admin/operators/:id',
    {
      onRequest,
      schema: schema(
        'Change an operator (regionIds replaces the list)',
        { params: s.idParams, body: s.body(fields) },
        { 200: s.operator },
        400,
        404,
        409,
        422,
      ),
    },
    async (request) => {
      const { password, ...input } = request.body;
      const found = await db.transaction(async (tx) => {
        const ok = await repo.updateOperator(tx, request.params.id, input);
        const status = input.active === false ? 'offline' : input.status;
        if (ok && status) await operatorAvailabilityChanged(tx, request.params.id, status);
        return ok;
      });
      if (!found) throw notFound(request.params.id);
      if (password !== undefined) {
        await ctx.auth.sessions.setPassword(request.params.id, password);
        await ctx.auth.sessions.revokeAll(request.params.id);
      }
      // A deactivated operator's browser sessions end now, as their token does.
      if (input.active === false) await ctx.auth.sessions.revokeAll(request.params.id);
      const after = await load(db, request.params.id);
      // Whether a widget's region has anybody online may have changed with any of these.
      if (input.status !== undefined || input.active !== undefined || input.regionIds !== undefined)
        ctx.notices.publish([presenceChanged(request.params.id, String(after.status))]);
      return after;
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/v1/admin/operators/:id',
    {
      onRequest,
      schema: schema('Deactivate an operator', { params: s.idParams }, { 200: s.operator }, 400, 404),
    },
    async (request) => {
      const found = await db.transaction(async (tx) => {
        const ok = await repo.deactivateOperator(tx, request.params.id);
        if (ok) await operatorAvailabilityChanged(tx, request.params.id, 'offline');
        return ok;
      });
      if (!found) throw notFound(request.params.id);
      await ctx.auth.sessions.revokeAll(request.params.id);
      ctx.notices.publish([presenceChanged(request.params.id, 'offline')]);
      return load(db, request.params.id);
    },
  );

  app.post<{ Params: { id: number } }>(
    '/v1/admin/operators/:id/token',
    {
      onRequest,
      schema: schema(
        'Issue a new API token; the old one stops working',
        { params: s.idParams },
        { 200: withToken },
        400,
        404,
      ),
    },
    async (request) => {
      const token = newOperatorToken();
      if (!(await repo.setOperatorToken(db, request.params.id, hashToken(token))))
        throw notFound(request.params.id);
      return { operator: await load(db, request.params.id), token };
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/v1/admin/operators/:id/sessions',
    {
      onRequest,
      schema: schema(
        'Sign the operator out everywhere (revokes their browser sessions; their API token is unaffected)',
        { params: s.idParams },
        { 200: s.obj({ revoked: s.int }, ['revoked']) },
        400,
        404,
      ),
    },
    async (request) => {
      await load(db, request.params.id);
      return { revoked: await ctx.auth.sessions.revokeAll(request.params.id) };
    },
  );
}

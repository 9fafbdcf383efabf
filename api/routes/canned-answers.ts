import type { FastifyInstance } from 'fastify';
import * as repo from '../../crm-core/repositories/canned-answer.repository.js';
import { AppError } from '../../lib/errors.js';
import { viewerOf } from '../auth.js';
import type { RouteContext } from './context.js';
import { camel } from './present.js';
import * as s from './schemas.js';

const fields = {
  title: { type: 'string', minLength: 1, maxLength: 200 },
  body: { type: 'string', minLength: 1, maxLength: 4_096 },
  language: { type: 'string', pattern: '^[a-z]{2}$', nullable: true },
  regionId: { ...s.id, nullable: true },
  position: { type: 'integer', minimum: -1_000_000, maximum: 1_000_000 },
};
const answer = s.obj({
  id: s.int,
  title: s.str,
  body: s.str,
  language: s.nstr,
  regionId: s.nint,
  position: s.int,
  createdAt: s.time,
  updatedAt: s.time,
});
const notFound = (id: number) =>
  new AppError('NOT_FOUND', `id: canned answer ${id} not found`, { fields: ['id'] });

/**
 * Canned answers: the administrator writes them (for everybody or one region), operators insert them into the
 * console's composer. An operator lists those for everybody and for their regions.
 */
export function cannedAnswerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const db = ctx.db;
  const admin = ctx.auth.requireAdmin;
  const tags = ['admin: canned answers'];

  app.get<{ Querystring: { language?: string } }>(
    '/v1/canned-answers',
    {
      onRequest: ctx.auth.requireOperator,
      schema: {
        tags: ['console'],
        summary: "Canned answers the caller may use (everybody's and their regions'), in the admin's order",
        security: s.security,
        querystring: s.body({ language: { type: 'string', pattern: '^[a-z]{2}$' } }),
        response: { 200: s.obj({ items: { type: 'array', items: answer } }), ...s.errors(400, 401) },
      },
    },
    async (request) => ({
      items: (await repo.listCannedAnswers(db, viewerOf(request), request.query.language)).map(camel),
    }),
  );

  app.get(
    '/v1/admin/canned-answers',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Every canned answer',
        security: s.security,
        response: { 200: s.obj({ items: { type: 'array', items: answer } }), ...s.errors(401, 403) },
      },
    },
    async (request) => ({ items: (await repo.listCannedAnswers(db, viewerOf(request))).map(camel) }),
  );

  app.post<{ Body: repo.CannedAnswerInput & { title: string; body: string } }>(
    '/v1/admin/canned-answers',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Add a canned answer (regionId: only for that region; absent: for everybody)',
        security: s.security,
        body: s.body(fields, ['title', 'body']),
        response: { 201: answer, ...s.errors(400, 401, 403, 422) },
      },
    },
    async (request, reply) => reply.code(201).send(camel(await repo.insertCannedAnswer(db, request.body))),
  );

  app.patch<{ Params: { id: number }; Body: repo.CannedAnswerInput }>(
    '/v1/admin/canned-answers/:id',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Change a canned answer (null clears language or region)',
        security: s.security,
        params: s.idParams,
        body: { ...s.body(fields), minProperties: 1 },
        response: { 200: answer, ...s.errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const row = await repo.updateCannedAnswer(db, request.params.id, request.body);
      if (!row) throw notFound(request.params.id);
      return camel(row);
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/v1/admin/canned-answers/:id',
    {
      onRequest: admin,
      schema: {
        tags,
        summary: 'Delete a canned answer',
        security: s.security,
        params: s.idParams,
        response: { 204: { type: 'null' }, ...s.errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      if (!(await repo.deleteCannedAnswer(db, request.params.id))) throw notFound(request.params.id);
      return reply.code(204).send();
    },
  );
}

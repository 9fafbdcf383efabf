import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { AppError } from '../../lib/errors.js';
import { keepSecret } from './present.js';
import * as s from './schemas.js';

/**
 * The admin API's channel settings keyed by the key in their webhook URLs (forms, telephony lines, stores,
 * messenger accounts, widgets) share one shape: list, get, PUT as an upsert (201 when it created, 200 when it
 * replaced) and delete, each answering with the row as `present` shows it (secrets masked). Each resource says
 * only what is its own: its schemas, its rows and how a body becomes a row.
 */
export interface KeyedResource<T, B> {
  /** e.g. '/v1/admin/stores'; the item is at `${path}/:key`. */
  path: string;
  /** OpenAPI tag, e.g. 'admin: stores'. */
  tag: string;
  /** Named in a 404: `key: store "x" not found`. */
  noun: string;
  onRequest: onRequestHookHandler;
  /** Response schema of one item. */
  item: object;
  /** Request body schema of PUT. */
  body: object;
  summaries: { list: string; get: string; put: string; delete: string };
  /** PUT's longer description in the API docs. */
  putDescription?: string;
  /** Status codes every route may answer besides 401 (e.g. 403 for a signed-in operator without the role). */
  errors?: number[];
  list(): Promise<T[]>;
  get(key: string): Promise<T | undefined>;
  /** Validates the body (throwing AppError naming the field) and stores it; `stored` is the current row. */
  save(key: string, body: B, stored: T | undefined): Promise<void>;
  remove(key: string): Promise<boolean>;
  present(row: T): unknown;
}

export function registerKeyedResource<T, B>(app: FastifyInstance, r: KeyedResource<T, B>): void {
  const { onRequest } = r;
  const schema = (summary: string, parts: object, ok: Record<number, unknown>, ...codes: number[]) => ({
    tags: [r.tag],
    summary,
    security: s.security,
    ...parts,
    response: { ...ok, ...s.errors(401, ...(r.errors ?? []), ...codes) },
  });
  const params = { params: s.keyParams };
  const gone = (key: string) =>
    new AppError('NOT_FOUND', `key: ${r.noun} "${key}" not found`, { fields: ['key'] });
  const item = `${r.path}/:key`;

  app.get(
    r.path,
    {
      onRequest,
      schema: schema(r.summaries.list, {}, { 200: s.obj({ items: { type: 'array', items: r.item } }) }),
    },
    async () => ({ items: (await r.list()).map(r.present) }),
  );
  app.get<{ Params: { key: string } }>(
    item,
    { onRequest, schema: schema(r.summaries.get, params, { 200: r.item }, 400, 404) },
    async (request) => {
      const row = await r.get(request.params.key);
      if (!row) throw gone(request.params.key);
      return r.present(row);
    },
  );
  app.put<{ Params: { key: string }; Body: B }>(
    item,
    {
      onRequest,
      schema: schema(
        r.summaries.put,
        { ...params, ...(r.putDescription ? { description: r.putDescription } : {}), body: r.body },
        { 200: r.item, 201: r.item },
        400,
        422,
      ),
    },
    async (request, reply) => {
      const { key } = request.params;
      const stored = await r.get(key);
      await r.save(key, request.body as B, stored);
      return reply.code(stored ? 200 : 201).send(r.present((await r.get(key))!));
    },
  );
  app.delete<{ Params: { key: string } }>(
    item,
    { onRequest, schema: schema(r.summaries.delete, params, { 204: { type: 'null' } }, 400, 404) },
    async (request, reply) => {
      if (!(await r.remove(request.params.key))) throw gone(request.params.key);
      return reply.code(204).send();
    },
  );
}

/** Shared secrets are guessable below this; checked after unmasking (the mask itself is shorter). */
export const MIN_SECRET = 16;

/**
 * A webhook's shared secret from a PUT: left out or sent back masked keeps the stored one; a new row must have
 * one, and a new or changed one must be long enough.
 */
export function requiredSecret(given: string | undefined, stored: string | undefined, noun: string): string {
  const secret = keepSecret(given, stored);
  if (!secret)
    throw new AppError('VALIDATION', `secret: is required for a new ${noun}`, { fields: ['secret'] });
  if (secret !== stored && secret.length < MIN_SECRET) {
    throw new AppError('VALIDATION', `secret: must be at least ${MIN_SECRET} characters`, {
      fields: ['secret'],
    });
  }
  return secret;
}

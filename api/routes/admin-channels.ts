import type { FastifyInstance } from 'fastify';
import { FORM_FIELDS, type FormSettings, type TelephonyLineSettings } from '../../channels/settings.js';
import * as repo from '../../crm-core/repositories/channel-settings.repository.js';
import { AppError } from '../../lib/errors.js';
import type { RouteContext } from './context.js';
import { keepSecret, maskLine, unmaskOptions } from './present.js';
import * as s from './schemas.js';

/** `*` or an origin as browsers send it: scheme, host, optional port, nothing else. */
const ORIGIN = '^(\\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?)$';

/** Shared secrets are guessable below this; the mask itself is shorter, so the length is checked after unmasking. */
const MIN_SECRET = 16;

const formFields = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  fieldMap: {
    type: 'object',
    // propertyNames fails loudly; additionalProperties:false would make ajv drop a mistyped key silently.
    propertyNames: { enum: [...FORM_FIELDS] },
    additionalProperties: { type: 'string', minLength: 1, maxLength: 100 },
  },
  allowedOrigins: { type: 'array', items: { type: 'string', pattern: ORIGIN }, maxItems: 200 },
  honeypotField: { type: 'string', minLength: 1, maxLength: 100 },
  redirectUrl: { type: 'string', format: 'uri', pattern: '^https?://', maxLength: 2000 },
  regionId: { ...s.id, nullable: true },
  active: { type: 'boolean', default: true },
};
const form = s.obj({
  key: s.str,
  ...formFields,
  fieldMap: s.anyObject,
  regionId: s.int,
  honeypotField: s.str,
  redirectUrl: s.str,
});

const lineFields = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  number: { type: 'string', pattern: '^\\+?[0-9]{3,15}$' },
  secret: {
    type: 'string',
    minLength: 1,
    maxLength: 500,
    description: `At least ${MIN_SECRET} characters; required for a new line; omit it (or send the mask back) to keep the stored one`,
  },
  source: { type: 'string', minLength: 1, maxLength: 200 },
  regionId: { ...s.id, nullable: true },
  createLeadOnOutbound: { type: 'boolean', default: false },
  options: { ...s.anyObject, description: 'Vendor settings; credential-like keys are masked in answers' },
  active: { type: 'boolean', default: true },
};
const line = s.obj({ key: s.str, ...lineFields, regionId: s.int, options: s.anyObject });

type FormBody = Omit<FormSettings, 'key' | 'regionId'> & { regionId?: number | null };
type LineBody = Omit<TelephonyLineSettings, 'key' | 'regionId' | 'secret'> & {
  secret?: string;
  regionId?: number | null;
};

/**
 * Web forms and telephony lines, keyed by the key that appears in their webhook URLs, so PUT is an upsert
 * (201 when it created). Connectors read these on every request, so changes apply at once.
 */
export function adminChannelRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireAdmin;
  const db = ctx.db;
  const schema = (
    tag: string,
    summary: string,
    parts: object,
    ok: Record<number, unknown>,
    ...codes: number[]
  ) => ({
    tags: [tag],
    summary,
    security: s.security,
    ...parts,
    response: { ...ok, ...s.errors(401, ...codes) },
  });
  const params = { params: s.keyParams };
  const gone = (what: string, key: string) =>
    new AppError('NOT_FOUND', `key: ${what} "${key}" not found`, { fields: ['key'] });

  // --- web forms ---------------------------------------------------------------------------------------
  const F = 'admin: forms';
  app.get(
    '/v1/admin/forms',
    {
      onRequest,
      schema: schema(F, 'List web forms', {}, { 200: s.obj({ items: { type: 'array', items: form } }) }),
    },
    async () => ({
      items: await repo.listForms(db),
    }),
  );
  app.get<{ Params: { key: string } }>(
    '/v1/admin/forms/:key',
    { onRequest, schema: schema(F, 'One web form', params, { 200: form }, 400, 404) },
    async (request) => {
      const f = await repo.getForm(db, request.params.key);
      if (!f) throw gone('form', request.params.key);
      return f;
    },
  );
  app.put<{ Params: { key: string }; Body: FormBody }>(
    '/v1/admin/forms/:key',
    {
      onRequest,
      schema: schema(
        F,
        'Create or replace a web form',
        { ...params, body: s.body(formFields, ['name']) },
        { 200: form, 201: form },
        400,
        422,
      ),
    },
    async (request, reply) => {
      const { key } = request.params;
      const b = request.body;
      const existed = (await repo.getForm(db, key)) !== undefined;
      await repo.upsertForm(db, {
        ...b,
        key,
        fieldMap: b.fieldMap ?? {},
        allowedOrigins: b.allowedOrigins ?? [],
        regionId: b.regionId ?? undefined,
      });
      return reply.code(existed ? 200 : 201).send(await repo.getForm(db, key));
    },
  );
  app.delete<{ Params: { key: string } }>(
    '/v1/admin/forms/:key',
    { onRequest, schema: schema(F, 'Delete a web form', params, { 204: { type: 'null' } }, 400, 404) },
    async (request, reply) => {
      if (!(await repo.deleteForm(db, request.params.key))) throw gone('form', request.params.key);
      return reply.code(204).send();
    },
  );

  // --- telephony lines ---------------------------------------------------------------------------------
  const L = 'admin: telephony lines';
  app.get(
    '/v1/admin/telephony-lines',
    {
      onRequest,
      schema: schema(
        L,
        'List telephony lines (secrets masked)',
        {},
        { 200: s.obj({ items: { type: 'array', items: line } }) },
      ),
    },
    async () => ({
      items: (await repo.listLines(db)).map(maskLine),
    }),
  );
  app.get<{ Params: { key: string } }>(
    '/v1/admin/telephony-lines/:key',
    { onRequest, schema: schema(L, 'One telephony line (secrets masked)', params, { 200: line }, 400, 404) },
    async (request) => {
      const l = await repo.getLine(db, request.params.key);
      if (!l) throw gone('line', request.params.key);
      return maskLine(l);
    },
  );
  app.put<{ Params: { key: string }; Body: LineBody }>(
    '/v1/admin/telephony-lines/:key',
    {
      onRequest,
      schema: schema(
        L,
        'Create or replace a telephony line',
        { ...params, body: s.body(lineFields, ['name']) },
        { 200: line, 201: line },
        400,
        422,
      ),
    },
    async (request, reply) => {
      const { key } = request.params;
      const b = request.body;
      const stored = await repo.getLine(db, key);
      const secret = keepSecret(b.secret, stored?.secret);
      if (!secret)
        throw new AppError('VALIDATION', 'secret: is required for a new line', { fields: ['secret'] });
      if (secret !== stored?.secret && secret.length < MIN_SECRET) {
        throw new AppError('VALIDATION', `secret: must be at least ${MIN_SECRET} characters`, {
          fields: ['secret'],
        });
      }
      const options = unmaskOptions(b.options ?? {}, stored?.options);
      await repo.upsertLine(db, { ...b, key, secret, options, regionId: b.regionId ?? undefined });
      return reply.code(stored ? 200 : 201).send(maskLine((await repo.getLine(db, key))!));
    },
  );
  app.delete<{ Params: { key: string } }>(
    '/v1/admin/telephony-lines/:key',
    { onRequest, schema: schema(L, 'Delete a telephony line', params, { 204: { type: 'null' } }, 400, 404) },
    async (request, reply) => {
      if (!(await repo.deleteLine(db, request.params.key))) throw gone('line', request.params.key);
      return reply.code(204).send();
    },
  );
}

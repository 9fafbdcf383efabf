import type { FastifyInstance } from 'fastify';
import { FORM_FIELDS, type FormSettings, type TelephonyLineSettings } from '../../channels/settings.js';
import * as repo from '../../crm-core/repositories/channel-settings.repository.js';
import type { RouteContext } from './context.js';
import { MIN_SECRET, registerKeyedResource, requiredSecret } from './keyed-resource.js';
import { maskLine, unmaskOptions } from './present.js';
import * as s from './schemas.js';

/** `*` or an origin as browsers send it: scheme, host, optional port, nothing else. */
const ORIGIN = '^(\\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?)$';

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
  registerKeyedResource<FormSettings, FormBody>(app, {
    path: '/v1/admin/forms',
    tag: 'admin: forms',
    noun: 'form',
    onRequest,
    item: form,
    body: s.body(formFields, ['name']),
    summaries: {
      list: 'List web forms',
      get: 'One web form',
      put: 'Create or replace a web form',
      delete: 'Delete a web form',
    },
    list: () => repo.listForms(db),
    get: (key) => repo.getForm(db, key),
    save: (key, b) =>
      repo.upsertForm(db, {
        ...b,
        key,
        fieldMap: b.fieldMap ?? {},
        allowedOrigins: b.allowedOrigins ?? [],
        regionId: b.regionId ?? undefined,
      }),
    remove: (key) => repo.deleteForm(db, key),
    present: (f) => f,
  });
  registerKeyedResource<TelephonyLineSettings, LineBody>(app, {
    path: '/v1/admin/telephony-lines',
    tag: 'admin: telephony lines',
    noun: 'line',
    onRequest,
    item: line,
    body: s.body(lineFields, ['name']),
    summaries: {
      list: 'List telephony lines (secrets masked)',
      get: 'One telephony line (secrets masked)',
      put: 'Create or replace a telephony line',
      delete: 'Delete a telephony line',
    },
    list: () => repo.listLines(db),
    get: (key) => repo.getLine(db, key),
    save: async (key, b, stored) => {
      const secret = requiredSecret(b.secret, stored?.secret, 'line');
      const options = unmaskOptions(b.options ?? {}, stored?.options);
      await repo.upsertLine(db, { ...b, key, secret, options, regionId: b.regionId ?? undefined });
    },
    remove: (key) => repo.deleteLine(db, key),
    present: maskLine,
  });
}

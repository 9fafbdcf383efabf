import { CHANNEL_KEY_PATTERN } from '../../channels/settings.js';

/**
 * JSON Schema fragments shared by the API routes. Fastify validates requests with them (ajv: query strings are
 * coerced, defaults applied, unknown body properties removed) and @fastify/swagger publishes them at /docs.
 * Response schemas keep `additionalProperties: true` so a column added later is never silently dropped by the
 * serializer, and use `nullable` (understood by ajv, fast-json-stringify and OpenAPI 3.0 alike).
 */

export const MAX_INT = 2_147_483_647;
export const str = { type: 'string' } as const;
export const nstr = { type: 'string', nullable: true } as const;
export const int = { type: 'integer' } as const;
export const nint = { type: 'integer', nullable: true } as const;
export const bool = { type: 'boolean' } as const;
export const time = { type: 'string', format: 'date-time' } as const;
export const ntime = { type: 'string', format: 'date-time', nullable: true } as const;
export const anyObject = { type: 'object', additionalProperties: true } as const;
export const id = { type: 'integer', minimum: 1, maximum: MAX_INT } as const;

export const obj = (properties: Record<string, unknown>, required: string[] = []) =>
  ({
    type: 'object',
    additionalProperties: true,
    properties,
    ...(required.length ? { required } : {}),
  }) as const;

/** Request bodies: unknown properties are dropped by ajv (removeAdditional), never stored. */
export const body = (properties: Record<string, unknown>, required: string[] = []) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties,
    ...(required.length ? { required } : {}),
  }) as const;

export const idParams = body({ id }, ['id']);
export const keyParams = body({ key: { type: 'string', pattern: CHANNEL_KEY_PATTERN } }, ['key']);

export const page = (max = 500, def = 50) => ({
  limit: { type: 'integer', minimum: 1, maximum: max, default: def },
  offset: { type: 'integer', minimum: 0, maximum: MAX_INT, default: 0 },
});

/** The label api/server.ts declares in openapi.components.securitySchemes (see apiSecuritySchemes). */
export const security = [{ bearer: [] }];

const errorBody = obj({
  error: obj({ code: str, message: str, fields: { type: 'array', items: str } }, ['code', 'message']),
});
const errorDoc: Record<number, string> = {
  400: 'VALIDATION: the message and `fields` name the field',
  401: 'UNAUTHORIZED: missing or invalid Bearer token',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT: a unique value is taken; `fields` names it',
  422: 'UNPROCESSABLE: a referenced row does not exist (or a row is still referenced)',
  429: 'RATE_LIMITED: too many attempts; see Retry-After',
};
export const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { ...errorBody, description: errorDoc[c] }]));

export const identity = obj({ kind: str, value: str, valid: bool, bouncing: bool });
export const operatorBrief = { ...obj({ id: int, name: str, extension: nstr }), nullable: true } as const;
export const regionBrief = { ...obj({ id: int, code: str, name: str }), nullable: true } as const;

export const lead = obj({
  id: int,
  title: str,
  name: nstr,
  status: str,
  responsibleId: nint,
  regionId: nint,
  assignmentReason: str,
  channel: str,
  sourceType: str,
  sourceKey: str,
  sourceName: nstr,
  utm: anyObject,
  convertedContactId: nint,
  convertedCompanyId: nint,
  createdAt: time,
  updatedAt: time,
});

export const activity = obj({
  id: int,
  ownerType: str,
  ownerId: nint,
  type: str,
  direction: nstr,
  state: str,
  subject: nstr,
  body: nstr,
  deadline: ntime,
  completedAt: ntime,
  responsibleId: nint,
  channel: nstr,
  sourceKey: nstr,
  details: anyObject,
  createdAt: time,
  updatedAt: time,
});

export const operator = obj({
  id: int,
  login: str,
  name: str,
  email: nstr,
  extension: nstr,
  status: str,
  active: bool,
  role: { type: 'string', enum: ['operator', 'supervisor', 'admin'] },
  hasPassword: bool,
  regionIds: { type: 'array', items: int },
  createdAt: time,
});

export const regionRule = body(
  {
    kind: { type: 'string', enum: ['phone_prefix', 'country', 'called_line', 'form_region', 'form_city'] },
    value: { type: 'string', minLength: 1, maxLength: 200 },
  },
  ['kind', 'value'],
);

export const region = obj({
  id: int,
  code: str,
  name: str,
  strategy: str,
  priority: int,
  defaultOperatorId: nint,
  rules: { type: 'array', items: obj({ kind: str, value: str }) },
});

export const list = (item: unknown) =>
  obj({ items: { type: 'array', items: item }, limit: int, offset: int }, ['items']);

/** preValidation hook for actions whose body is all optional: no body at all means `{}`, not a 400. */
export async function optionalBody(request: { body: unknown }): Promise<void> {
  request.body ??= {};
}

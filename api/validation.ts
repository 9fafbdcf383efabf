import { Ajv, type Options, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import type { FastifyInstance, FastifyRequest, FastifySchema, FastifySchemaValidationError } from 'fastify';
import { plausibleIsoDateTime } from '../lib/dates.js';
import { AppError } from '../lib/errors.js';
import { findUnsafeText } from '../lib/text.js';

/**
 * Request validation for every route of the HTTP server (set once at the root, inherited by every plugin).
 *
 * Fastify's default ajv coerces types everywhere (`coerceTypes: 'array'`): `"name": true` became "true",
 * `"priority": null` became 0 and `"regionIds": 7` became [7]. Bodies are JSON, whose types mean something,
 * so bodies are validated with no coercion at all: a wrong type is a 400 naming the field. Query strings,
 * path parameters and headers are text by nature; they keep coercion (`?limit=10` is the number 10).
 * Both keep Fastify's other defaults: defaults applied, unknown body properties dropped (documented), one error.
 */
const COMMON: Options = { useDefaults: true, removeAdditional: true, allErrors: false, addUsedSchema: false };

function makeAjv(coerceTypes: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({ ...COMMON, coerceTypes });
  formats.default(ajv);
  // ajv-formats takes year 0000 and offsets up to ±23:59, which PostgreSQL refuses: one rule for every date.
  ajv.addFormat('date-time', { type: 'string', validate: plausibleIsoDateTime });
  return ajv;
}

type Validator = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };

/**
 * ajv coerces the text "Infinity" to a number that passes `integer` and `maximum` (8.20), so coerced parts are
 * checked for non-finite numbers after validation, naming the parameter.
 */
function finiteOnly(validate: ValidateFunction): Validator {
  const wrapped: Validator = (data) => {
    if (!validate(data)) {
      wrapped.errors = validate.errors as FastifySchemaValidationError[];
      return false;
    }
    const key =
      data && typeof data === 'object'
        ? Object.keys(data).find((k) => {
            const v = (data as Record<string, unknown>)[k];
            return typeof v === 'number' && !Number.isFinite(v);
          })
        : undefined;
    wrapped.errors = key
      ? [
          {
            instancePath: `/${key}`,
            keyword: 'type',
            message: 'must be a finite number',
            params: {},
            schemaPath: '',
          },
        ]
      : null;
    return !key;
  };
  return wrapped;
}

export function setStrictValidation(app: FastifyInstance): void {
  const bodies = makeAjv(false);
  const text = makeAjv('array');
  app.setValidatorCompiler<FastifySchema>(({ schema, httpPart }) =>
    httpPart === 'body' ? bodies.compile(schema as object) : finiteOnly(text.compile(schema as object)),
  );
}

/**
 * API and admin input with characters no column can hold (lib/text.ts: control characters, lone surrogates) is
 * refused naming the field, in the body (also inside JSON-valued settings and object keys), the query string and
 * the path. A preValidation hook: it runs after authentication (onRequest) and before the schema.
 */
export async function refuseUnsafeText(request: FastifyRequest): Promise<void> {
  for (const part of [request.params, request.query, request.body]) {
    const found = findUnsafeText(part);
    if (found) {
      throw new AppError('VALIDATION', `${found.field}: ${found.reason}`, { fields: [found.field] });
    }
  }
}

import { describe, expect, it } from 'vitest';
import { toAppError as toApiError } from '../../../api/http-errors.js';
import { EventValidationError } from '../../../event/inbound-contact.js';
import { AppError } from '../../../lib/errors.js';

const validation = (issue: object, context = 'body') =>
  Object.assign(new Error('x'), { validation: [issue], validationContext: context, statusCode: 400 });

describe('toAppError, the one translator at the HTTP edge', () => {
  it('names a nested body field by its path', () => {
    const e = toApiError(
      validation({
        instancePath: '/rules/1/kind',
        keyword: 'enum',
        params: { allowedValues: ['a', 'b'] },
        message: 'm',
      }),
    ) as AppError;
    expect(e).toMatchObject({
      code: 'VALIDATION',
      status: 400,
      fields: ['rules.1.kind'],
      message: 'rules.1.kind: must be one of a, b',
    });
  });

  it('names the missing property, not its parent', () => {
    const e = toApiError(
      validation({ instancePath: '/imap', keyword: 'required', params: { missingProperty: 'password' } }),
    ) as AppError;
    expect(e).toMatchObject({ fields: ['imap.password'], message: 'imap.password: is required' });
  });

  it('names a query parameter', () => {
    const e = toApiError(
      validation({ instancePath: '/limit', keyword: 'maximum', message: 'must be <= 500' }, 'querystring'),
    ) as AppError;
    expect(e.message).toBe('limit: must be <= 500');
  });

  it('maps a unique violation to 409 naming the column as a camelCase field', () => {
    const e = toApiError({
      code: '23505',
      constraint: 'operators_login_key',
      detail: 'Key (login)=(anna) already exists.',
    }) as AppError;
    expect(e).toMatchObject({
      code: 'CONFLICT',
      status: 409,
      fields: ['login'],
      message: 'login: "anna" is already taken',
    });
  });

  it('maps foreign-key violations to 422, with the API name for join-table columns', () => {
    const missing = toApiError({
      code: '23503',
      constraint: 'operator_regions_region_id_fkey',
      detail: 'Key (region_id)=(99) is not present in table "regions".',
    }) as AppError;
    expect(missing).toMatchObject({
      code: 'UNPROCESSABLE',
      fields: ['regionIds'],
      message: 'regionIds: 99 does not exist in regions',
    });
    const inUse = toApiError({
      code: '23503',
      constraint: 'leads_region_id_fkey',
      detail: 'Key (id)=(1) is still referenced from table "leads".',
    }) as AppError;
    expect(inUse).toMatchObject({
      code: 'UNPROCESSABLE',
      fields: ['id'],
      message: 'id: still referenced by leads',
    });
  });

  it('turns Fastify body errors into VALIDATION on body, unknown errors into INTERNAL', () => {
    const bad = Object.assign(new Error('Body is not valid JSON'), {
      code: 'FST_ERR_CTP_INVALID_JSON_BODY',
      statusCode: 400,
    });
    expect(toApiError(bad)).toMatchObject({ code: 'VALIDATION', fields: ['body'] });
    const app = new AppError('NOT_FOUND', 'x');
    expect(toApiError(app)).toBe(app);
    expect(toApiError(new TypeError('bug'))).toMatchObject({ code: 'INTERNAL', status: 500 });
  });

  it('maps Fastify limits and media types to 413 / 415 / 414 naming the part of the request', () => {
    const err = (code: string, statusCode: number) => Object.assign(new Error('x'), { code, statusCode });
    expect(toApiError(err('FST_ERR_CTP_BODY_TOO_LARGE', 413))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
      fields: ['body'],
    });
    expect(toApiError(err('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415))).toMatchObject({
      status: 415,
      fields: ['content-type'],
    });
    expect(toApiError(err('FST_ERR_BAD_URL', 400))).toMatchObject({ status: 400, fields: ['url'] });
    expect(toApiError(err('FST_ERR_MAX_PARAM_LENGTH', 414))).toMatchObject({ status: 414 });
  });

  it('an event the schema refuses is 400 naming its fields, whichever connector built it', () => {
    const e = toApiError(new EventValidationError([{ path: 'content.call.startedAt', message: 'bad' }]));
    expect(e).toMatchObject({ code: 'VALIDATION', status: 400, fields: ['content.call.startedAt'] });
  });

  it('a value the database cannot store is 400, not 500', () => {
    const pg = Object.assign(new Error('value too long'), { code: '22001', severity: 'ERROR' });
    expect(toApiError(pg)).toMatchObject({ code: 'VALIDATION', status: 400 });
  });
});

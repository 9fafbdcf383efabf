import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { bearerToken, safeEqual } from '../../lib/credentials.js';
import { AppError } from '../../lib/errors.js';
import type { ConnectorContext } from '../contract.js';
import {
  lookup,
  type Params,
  param,
  parseForm,
  parseParams,
  type RawBody,
  rawBody,
  rawQuery,
} from '../webhook-http.js';
import { deny, findLine } from './auth.js';
import { finish, type MethodResult, register } from './bitrix24-methods.js';
import { publishCall } from './call-event.js';

type Method = typeof register;
const METHODS: Record<string, Method> = {
  'telephony.externalcall.register': register,
  'telephony.externalcall.finish': finish,
};

const REDACTED = '[redacted]';

/** The `auth` parameter is the line secret: it must not reach the event's audit copy. */
export function auditCopy(body: RawBody, query: string): { contentType: string; body: string } {
  if (!body.text.trim()) return { contentType: 'application/x-www-form-urlencoded', body: redactForm(query) };
  const looksJson = body.contentType.includes('json') || /^\s*\{/.test(body.text);
  return { contentType: body.contentType, body: looksJson ? redactJson(body.text) : redactForm(body.text) };
}

function redactForm(text: string): string {
  const sp = new URLSearchParams(text);
  if (!sp.has('auth')) return text;
  sp.set('auth', REDACTED);
  return sp.toString();
}

function redactJson(text: string): string {
  try {
    const data = JSON.parse(text) as Record<string, unknown>;
    return data && typeof data === 'object' && 'auth' in data
      ? JSON.stringify({ ...data, auth: REDACTED })
      : text;
  } catch {
    return text;
  }
}

/** The body's parameters, or none when it does not parse (that is answered only after authentication). */
function lenientParams(body: RawBody): Params {
  try {
    return parseParams(body);
  } catch {
    return {};
  }
}

const BITRIX_DOC = {
  tags: ['inbound: telephony'],
  summary:
    'Bitrix24-compatible telephony.externalcall.register / .finish (auth: the secret in the URL, auth= or Bearer)',
  description:
    'register: PHONE_NUMBER, TYPE (1 outbound, 2/3 inbound, 4 callback, 5 info), USER_PHONE_INNER or USER_ID, CALL_START_DATE, EXTERNAL_CALL_ID, LINE_NUMBER, CRM_CREATE; answers {result: {CALL_ID, CRM_ENTITY_TYPE, CRM_ENTITY_ID, ...}}. finish: CALL_ID (from register), DURATION, STATUS_CODE (SIP-like), RECORD_URL, USER_PHONE_INNER. Parameters as query, form or JSON.',
  consumes: ['application/x-www-form-urlencoded', 'application/json'],
  security: [{ lineSecret: [] }],
};

interface Route {
  Params: { line: string; token?: string; method: string };
}

/**
 * Bitrix REST clients call `<webhook base>/<method>[.json]` with GET or POST (form or JSON). Two URL shapes:
 * `.../bitrix24/<line>/<method>` with `auth=<secret>` or a Bearer header, and `.../bitrix24/<line>/<secret>/`
 * as the webhook base, which is how PBX modules configured for a Bitrix24 inbound webhook build their URLs.
 */
export function bitrix24Adapter(ctx: ConnectorContext): FastifyPluginAsync {
  async function handle(req: FastifyRequest<Route>): Promise<{ result: Record<string, unknown> }> {
    const line = await findLine(ctx, 'bitrix24', req.params.line);
    const body = rawBody(req);
    const query = rawQuery(req);
    const queryParams = parseForm(query);
    // Authenticate before the body is judged: the secret may sit in the URL, in `auth=` (body or query) or in a
    // Bearer header, and looking for it refuses nothing, so a malformed body on a known line answers exactly as
    // an unknown line or a wrong secret does (401, one message) and nobody can probe which lines exist.
    const given =
      req.params.token ??
      param(lenientParams(body), 'auth') ??
      param(queryParams, 'auth') ??
      bearerToken(req.headers.authorization);
    if (!given || !safeEqual(given, line.secret)) deny(ctx, 'bitrix24', line.key, 'wrong or missing auth');
    // Bitrix clients put parameters in the query, the body, or both; the body wins a conflict.
    const p: Params = { ...queryParams, ...parseParams(body) };

    const method = lookup(METHODS, req.params.method.replace(/\.json$/i, '').toLowerCase());
    if (!method) throw new AppError('NOT_FOUND', `method ${req.params.method} is not supported`);
    const { record, result }: MethodResult = method(p, line, auditCopy(body, query), new Date());
    await publishCall(ctx, record);
    // Bitrix PBX modules show the client's card from this answer. The lookup runs after the publish, so in
    // the embedded default a lead created by this very call is found; with Kafka it may not be routed yet.
    if (result.CALL_ID && 'CRM_ENTITY_TYPE' in result && ctx.clients) {
      const phone = param(p, 'PHONE_NUMBER');
      const found = phone ? await ctx.clients.findByPhone(phone).catch(() => undefined) : undefined;
      if (found)
        Object.assign(result, {
          CRM_ENTITY_TYPE: found.entityType.toUpperCase(),
          CRM_ENTITY_ID: found.entityId,
        });
    }
    return { result };
  }

  return async (app) => {
    for (const url of ['/bitrix24/:line/:method', '/bitrix24/:line/:token/:method']) {
      app.route<Route>({
        method: ['GET', 'POST'],
        url,
        schema: BITRIX_DOC,
        handler: async (req, reply) => reply.send(await handle(req)),
      });
    }
  };
}

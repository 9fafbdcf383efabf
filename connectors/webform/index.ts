import { randomUUID } from 'node:crypto';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  CHANNEL_KEY_PATTERN,
  FORM_FIELDS,
  type FormSettings,
  isChannelKey,
} from '../../channels/settings.js';
import { buildInboundContact, type ContactDraft } from '../../event/build.js';
import { contactId, type InboundContact } from '../../event/inbound-contact.js';
import { AppError, isAppError } from '../../lib/errors.js';
import type { Connector, ConnectorContext } from '../contract.js';
import { paramsDoc, schemasAreDocs } from '../webhook-http.js';
import { answer, wantsHtml } from './answer.js';
import {
  addFormParsers,
  BODY_LIMIT,
  EMPTY_BODY,
  type FormBody,
  MULTIPART_LIMITS,
  readMultipart,
} from './body.js';
import { checkOrigin, preflight } from './cors.js';
import { extractSubmission, honeypotFilled, MAX_LENGTH, type Submission } from './fields.js';

/** Sent when the bus gave no hint; the event was not taken, the client (or the browser user) should retry. */
const BUS_RETRY_AFTER_SEC = 5;
const IDEMPOTENCY_KEY_MAX = 200;

/**
 * Web forms: POST /v1/forms/:formKey with a form's fields -> one InboundContact (channel 'webform').
 *
 * The plugin is encapsulated on purpose (not wrapped in fastify-plugin): its body parsers, CORS headers,
 * rate limit and error translation stay under /v1/forms. The client IP (rate limit key, regionHints.clientIp)
 * is request.ip, so behind a proxy the composition root must create Fastify with `trustProxy: config.trustProxy`.
 */
export function createWebformConnector(ctx: ConnectorContext): Connector {
  const log = ctx.logger.child({ connector: 'webform' });
  // The form is looked up before the body is read and handed to the handler here, not via a request decorator.
  const forms = new WeakMap<FastifyRequest, FormSettings>();

  async function loadForm(request: FastifyRequest): Promise<FormSettings> {
    const { formKey } = request.params as { formKey: string };
    // A key that cannot exist (NUL, slashes, 300 characters) is unknown without a look-up, and is not echoed.
    if (!isChannelKey(formKey))
      throw new AppError('NOT_FOUND', 'formKey: no such form', { fields: ['formKey'] });
    const form = await ctx.settings.getForm(formKey);
    // Inactive forms answer exactly like unknown ones: a switched-off form should look gone.
    if (!form?.active)
      throw new AppError('NOT_FOUND', `formKey: form "${formKey}" not found`, { fields: ['formKey'] });
    return form;
  }

  async function publish(event: InboundContact): Promise<void> {
    try {
      await ctx.bus.publish([event]);
    } catch (e) {
      log.warn({ err: e, eventId: event.id, formKey: event.source.key }, 'webform: publish failed');
      // Nothing was accepted: the answer must be 503 + Retry-After, never a 2xx.
      if (isAppError(e) && e.code === 'BUS_UNAVAILABLE' && e.retryAfterSec === undefined) {
        throw new AppError('BUS_UNAVAILABLE', e.message, { cause: e, retryAfterSec: BUS_RETRY_AFTER_SEC });
      }
      throw e;
    }
  }

  const plugin: FastifyPluginAsync = async (app) => {
    if (app.hasRequestDecorator('parts')) {
      throw new Error(
        'webform: register @fastify/multipart only in the scopes that need it, not above connectors',
      );
    }
    addFormParsers(app);
    schemasAreDocs(app);
    await app.register(multipart, { limits: MULTIPART_LIMITS, throwFileSizeLimit: false });
    await app.register(rateLimit, {
      global: false,
      errorResponseBuilder: (_req, c) =>
        new AppError('RATE_LIMITED', `too many form submissions from this address; retry in ${c.after}`, {
          retryAfterSec: Math.max(1, Math.ceil(c.ttl / 1000)),
        }),
    });

    app.options('/:formKey', async (request, reply) => {
      preflight(request, reply, await loadForm(request));
      return reply.code(204).send();
    });

    app.post(
      '/:formKey',
      {
        schema: SUBMIT_DOC,
        bodyLimit: BODY_LIMIT,
        // onRequest: counted before anything else, so floods of unknown keys cost no settings look-ups.
        config: { rateLimit: { max: ctx.config.formRateLimit, timeWindow: 60_000 } },
        // preParsing: after the rate limit, before the body is read.
        preParsing: async (request, reply, payload) => {
          const form = await loadForm(request);
          checkOrigin(request, reply, form);
          forms.set(request, form);
          return payload;
        },
      },
      async (request, reply) => {
        const form = forms.get(request)!;
        const body = request.isMultipart() ? await readMultipart(request) : bodyOf(request.body);
        const html = wantsHtml(request.headers.accept, request.headers['content-type']);
        const externalId = idempotencyKey(request) ?? randomUUID();

        if (honeypotFilled(body.values, form)) {
          // Same answer as a real submission, so bots learn nothing; not published.
          log.info({ formKey: form.key, ip: request.ip }, 'webform: honeypot filled, submission dropped');
          return answer(reply, form, contactId('webform', form.key, externalId), html);
        }

        const sub = extractSubmission(body.values, request.query, form);
        const event = buildInboundContact(draft(sub, form, body, externalId, request), {
          defaultCountry: ctx.config.defaultCountry,
        });
        await publish(event);
        return answer(reply, form, event.id, html);
      },
    );
  };

  return { name: 'webform', http: { prefix: '/v1/forms', plugin } };
}

/** For /docs only (schemasAreDocs): the fields are whatever the form has; these are the names read by default. */
const SUBMIT_DOC = {
  tags: ['inbound: forms'],
  summary: 'Submit a web form (no auth: CORS allow-list, honeypot, per-IP rate limit)',
  consumes: ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/json'],
  params: { type: 'object', properties: { formKey: { type: 'string', pattern: CHANNEL_KEY_PATTERN } } },
  headers: {
    type: 'object',
    properties: { 'idempotency-key': { type: 'string', maxLength: IDEMPOTENCY_KEY_MAX } },
  },
  body: paramsDoc(
    "The form's fields; names are mapped by the form's fieldMap, else these defaults (and aliases such as tel, fio, comment). At least one of phone, email, telegram.",
    Object.fromEntries(FORM_FIELDS.map((f) => [f, `${f} (at most ${MAX_LENGTH[f]} characters)`])),
  ),
  response: {
    202: {
      description: 'Accepted: the event is durable on the bus',
      type: 'object',
      properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string' } },
    },
    303: { description: "An HTML form post: redirect to the form's thank-you page", type: 'null' },
  },
};

function bodyOf(body: unknown): FormBody {
  return body && typeof body === 'object' && 'values' in body ? (body as FormBody) : EMPTY_BODY;
}

/** A client's retry with the same Idempotency-Key yields the same event id, so the router de-duplicates it. */
function idempotencyKey(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  const value = (Array.isArray(key) ? key[0] : key)?.trim();
  if (!value) return undefined;
  if (value.length > IDEMPOTENCY_KEY_MAX) {
    throw new AppError('VALIDATION', `Idempotency-Key is longer than ${IDEMPOTENCY_KEY_MAX} characters`, {
      fields: ['Idempotency-Key'],
    });
  }
  return value;
}

function draft(
  sub: Submission,
  form: FormSettings,
  body: FormBody,
  externalId: string,
  request: FastifyRequest,
): ContactDraft {
  const referer = request.headers.referer;
  return {
    channel: 'webform',
    kind: 'form',
    source: { type: 'form', key: form.key, name: form.name },
    externalId,
    sender: {
      name: sub.name,
      phones: sub.phones,
      emails: sub.emails,
      messengerIds: sub.telegrams.map((id) => ({ kind: 'telegram', id })),
    },
    content: { subject: sub.subject, text: sub.message },
    regionHints: { formRegion: sub.region, formCity: sub.city, clientIp: request.ip },
    utm: sub.utm,
    meta: {
      ...(form.regionId !== undefined && { formRegionId: form.regionId }),
      ...(referer && { pageUrl: referer.slice(0, 2_000) }),
    },
    raw: body.raw,
  };
}

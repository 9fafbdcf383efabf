import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { IsoDateTime } from '../../event/inbound-contact.js';
import { bearerToken, safeEqual, validSha256Signature } from '../../lib/credentials.js';
import type { ConnectorContext } from '../contract.js';
import { docSchema, fieldError, invalid, parseJson, rawBody } from '../webhook-http.js';
import { deny, findLine } from './auth.js';
import { type CallRecord, publishCall } from './call-event.js';

/** The project's own call-record format (documented in README.md): one POST per finished call. */
export const GenericCallSchema = z.object({
  line: z.string().min(1).max(200),
  direction: z.enum(['inbound', 'outbound']),
  // May be empty or 'anonymous' for a withheld caller; such a call is recorded without an identity.
  from: z.string().max(100),
  to: z.string().max(100),
  startedAt: IsoDateTime,
  answeredAt: IsoDateTime.optional(),
  endedAt: IsoDateTime.optional(),
  /** Whole call, start to end, in seconds. */
  duration: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .optional(),
  status: z.enum(['answered', 'missed', 'busy', 'failed', 'voicemail']),
  recordingUrl: z
    .url({ protocol: /^https?$/ })
    .max(2_000)
    .optional(),
  externalCallId: z.string().min(1).max(200),
  operatorExtension: z.string().min(1).max(100).optional(),
});
export type GenericCall = z.infer<typeof GenericCallSchema>;

const LineKey = z.object({ line: z.string().min(1).max(200) });

const secondsBetween = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / 1000);

/** Well-formed but contradictory records are 422: the sender's clock or mapping is wrong, not its JSON. */
function checkTimeline(c: GenericCall): void {
  if (c.answeredAt && secondsBetween(c.startedAt, c.answeredAt) < 0) {
    throw fieldError('answeredAt', 'is before startedAt', 'UNPROCESSABLE');
  }
  if (c.endedAt && secondsBetween(c.answeredAt ?? c.startedAt, c.endedAt) < 0) {
    throw fieldError('endedAt', `is before ${c.answeredAt ? 'answeredAt' : 'startedAt'}`, 'UNPROCESSABLE');
  }
}

export function genericCallRecord(c: GenericCall, base: Pick<CallRecord, 'line' | 'raw'>): CallRecord {
  const { startedAt, answeredAt, endedAt } = c;
  return {
    ...base,
    vendor: 'generic',
    externalCallId: c.externalCallId,
    stage: 'ended',
    status: c.status,
    direction: c.direction,
    from: c.from,
    to: c.to,
    startedAt: new Date(startedAt),
    answeredAt: answeredAt ? new Date(answeredAt) : undefined,
    endedAt: endedAt ? new Date(endedAt) : undefined,
    durationSec: c.duration ?? (endedAt ? secondsBetween(startedAt, endedAt) : undefined),
    talkSec: answeredAt && endedAt ? secondsBetween(answeredAt, endedAt) : undefined,
    // Unanswered: the caller waited the whole call. Answered: until someone picked up.
    waitSec: answeredAt
      ? secondsBetween(startedAt, answeredAt)
      : (c.duration ?? (endedAt ? secondsBetween(startedAt, endedAt) : undefined)),
    recordingUrl: c.recordingUrl,
    operatorExtension: c.operatorExtension,
  };
}

const GENERIC_DOC = {
  tags: ['inbound: telephony'],
  summary:
    'One finished call in our own JSON (auth: the line secret as Bearer, or X-Signature: sha256=<hmac>)',
  consumes: ['application/json'],
  security: [{ lineSecret: [] }, { lineSignature: [] }] as Record<string, string[]>[],
  body: docSchema(GenericCallSchema),
  response: {
    202: {
      type: 'object',
      properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string' } },
    },
  },
};

export function genericAdapter(ctx: ConnectorContext): FastifyPluginAsync {
  return async (app) => {
    app.post('/generic', { schema: GENERIC_DOC }, async (req, reply) => {
      const body = rawBody(req);
      const data = parseJson(body.text);
      // The line (and so the secret) is named inside the body: read just that before authenticating.
      const key = LineKey.safeParse(data);
      if (!key.success) throw invalid(key.error);
      const line = await findLine(ctx, 'generic', key.data.line);

      const bearer = bearerToken(req.headers.authorization);
      const signature = req.headers['x-signature'];
      if (bearer !== undefined) {
        if (!safeEqual(bearer, line.secret)) deny(ctx, 'generic', line.key, 'wrong bearer token');
      } else if (typeof signature === 'string') {
        if (!validSha256Signature(line.secret, body.text, signature)) {
          deny(ctx, 'generic', line.key, 'wrong X-Signature');
        }
      } else {
        deny(ctx, 'generic', line.key, 'no Authorization or X-Signature header');
      }

      const parsed = GenericCallSchema.safeParse(data);
      if (!parsed.success) throw invalid(parsed.error);
      checkTimeline(parsed.data);
      const event = await publishCall(
        ctx,
        genericCallRecord(parsed.data, { line, raw: { contentType: body.contentType, body: body.text } }),
      );
      return reply.code(202).send({ id: event.id, status: 'accepted' });
    });
  };
}

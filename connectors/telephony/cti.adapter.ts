import type { FastifyPluginAsync } from 'fastify';
import type { TelephonyLineSettings } from '../../channels/settings.js';
import { safeEqual } from '../../lib/credentials.js';
import type { ConnectorContext } from '../contract.js';
import { fieldError, lookup, type Params, param, paramsDoc, parseParams, rawBody } from '../webhook-http.js';
import { deny, findLine } from './auth.js';
import { type CallRecord, type CallStage, type CallStatus, publishCall, sameNumber } from './call-event.js';

/**
 * Zammad's generic CTI push API (docs.zammad.org, "Generic CTI"), so a PBX already configured for Zammad only
 * needs a new URL. Zammad events carry no timestamps: the time of receipt is the time of the event.
 */
const STAGES: Record<string, CallStage> = { newCall: 'ringing', answer: 'answered', hangup: 'ended' };

/**
 * Hangup causes. normalClearing is only sent for a call that was connected (an unanswered one ends with
 * cancel or noAnswer); forwarded means another destination took it. An unknown cause counts as missed:
 * a needless callback is cheaper than a forgotten client.
 */
const CAUSES: Record<string, CallStatus> = {
  normalClearing: 'answered',
  forwarded: 'answered',
  busy: 'busy',
  cancel: 'missed',
  noAnswer: 'missed',
  congestion: 'failed',
  notFound: 'failed',
};

function statusOf(stage: CallStage, cause: string | undefined): CallStatus {
  if (stage === 'ringing') return 'ringing';
  if (stage === 'answered') return 'answered';
  return lookup(CAUSES, cause) ?? 'missed';
}

/** options.blockedNumbers: E.164 or as the PBX sends them; compared both raw and normalised. */
export function isBlocked(line: TelephonyLineSettings, from: string | undefined, country: string): boolean {
  const list = line.options.blockedNumbers;
  if (!from || !Array.isArray(list)) return false;
  return list.some((b) => typeof b === 'string' && (b.trim() === from || sameNumber(from, b, country)));
}

const users = (p: Params) => {
  const v = p.user;
  const list = (Array.isArray(v) ? v : v ? [v] : []).map((u) => u.trim()).filter(Boolean);
  return list.length ? list : undefined;
};

export function ctiCallRecord(
  p: Params,
  line: TelephonyLineSettings,
  raw: CallRecord['raw'],
  opts: { country: string; now: Date },
): { record: CallRecord; blocked: boolean } {
  const event = param(p, 'event');
  const stage = lookup(STAGES, event);
  if (!stage) throw fieldError('event', 'must be newCall, answer or hangup');
  const dir = param(p, 'direction');
  // Zammad itself answers 422 "Invalid direction!" here.
  if (dir !== 'in' && dir !== 'out') throw fieldError('direction', 'must be in or out', 'UNPROCESSABLE');
  const callId = param(p, 'callId', 'call_id', 'CallID');
  if (!callId || callId.length > 200) throw fieldError('callId', 'is required (at most 200 characters)');
  const from = param(p, 'from');
  const direction = dir === 'in' ? 'inbound' : 'outbound';
  const blocked = stage === 'ringing' && direction === 'inbound' && isBlocked(line, from, opts.country);
  // A blocked call is rejected right now, so it is recorded as finished (busy), not as ringing forever.
  const status = blocked ? 'busy' : statusOf(stage, param(p, 'cause'));
  const names = users(p);
  const record: CallRecord = {
    vendor: 'cti',
    line,
    raw,
    externalCallId: callId,
    stage: blocked ? 'ended' : stage,
    status,
    direction,
    from,
    to: param(p, 'to'),
    startedAt: stage === 'ringing' ? opts.now : undefined,
    answeredAt: stage === 'answered' ? opts.now : undefined,
    endedAt: stage === 'ended' || blocked ? opts.now : undefined,
    operatorExtension: param(p, 'answeringNumber') ?? names?.[0],
    meta: { ...(names ? { operatorNames: names } : {}), ...(blocked ? { blocked: true } : {}) },
  };
  return { record, blocked };
}

const CTI_DOC = {
  tags: ['inbound: telephony'],
  summary: 'Zammad-compatible generic CTI events (auth: the line secret as the last path segment)',
  consumes: ['application/x-www-form-urlencoded', 'application/json'],
  params: {
    type: 'object',
    properties: { line: { type: 'string' }, token: { type: 'string', description: 'the line secret' } },
  },
  body: paramsDoc(
    'Zammad CTI parameters',
    {
      event: 'newCall, answer or hangup',
      direction: 'in or out',
      callId: 'the call (at most 200 characters)',
      from: 'caller',
      to: 'called',
      cause: 'hangup cause: normalClearing, busy, cancel, noAnswer, congestion, notFound, forwarded',
      'user[]': 'operator names',
      answeringNumber: 'the extension that answered',
    },
    ['event', 'direction', 'callId'],
  ),
};

export function ctiAdapter(ctx: ConnectorContext): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Params: { line: string; token: string } }>(
      '/cti/:line/:token',
      { schema: CTI_DOC },
      async (req, reply) => {
        const line = await findLine(ctx, 'cti', req.params.line);
        if (!safeEqual(req.params.token, line.secret)) deny(ctx, 'cti', line.key, 'wrong token in URL');
        const body = rawBody(req);
        const { record, blocked } = ctiCallRecord(
          parseParams(body),
          line,
          { contentType: body.contentType, body: body.text },
          { country: ctx.config.defaultCountry, now: new Date() },
        );
        await publishCall(ctx, record);
        // Zammad's answers, byte for byte: a PBX scripted against them checks `action`.
        return reply.code(200).send(blocked ? { action: 'reject', reason: 'busy' } : {});
      },
    );
  };
}

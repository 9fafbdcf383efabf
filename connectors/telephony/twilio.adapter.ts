import type { FastifyPluginAsync } from 'fastify';
import type { TelephonyLineSettings } from '../../channels/settings.js';
import type { ConnectorContext } from '../contract.js';
import {
  dateField,
  fieldError,
  httpUrl,
  lookup,
  type Params,
  param,
  paramsDoc,
  parseForm,
  rawBody,
  seconds,
} from '../webhook-http.js';
import { deny, findLine, stringOption } from './auth.js';
import { type CallRecord, type CallStage, type CallStatus, publishCall, sameNumber } from './call-event.js';
import { validTwilioSignature } from './twilio-signature.js';

/** What Twilio expects from a status callback: an empty TwiML document (it ignores the body, not the type). */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

const STATUSES: Record<string, { stage: CallStage; status: CallStatus }> = {
  queued: { stage: 'ringing', status: 'ringing' },
  initiated: { stage: 'ringing', status: 'ringing' },
  ringing: { stage: 'ringing', status: 'ringing' },
  'in-progress': { stage: 'answered', status: 'answered' },
  completed: { stage: 'ended', status: 'answered' },
  busy: { stage: 'ended', status: 'busy' },
  'no-answer': { stage: 'ended', status: 'missed' },
  canceled: { stage: 'ended', status: 'missed' },
  failed: { stage: 'ended', status: 'failed' },
};

/**
 * Twilio's Direction is about the leg, not the client. `outbound-dial` is a <Dial> child leg: it is the
 * forwarded leg of an inbound call unless it presents the line's own number as caller id (click-to-call).
 * Without `line.number` it cannot be told apart and stays outbound, as Twilio labels it.
 */
function direction(p: Params, line: TelephonyLineSettings, country: string): 'inbound' | 'outbound' {
  const d = param(p, 'Direction') ?? 'inbound';
  if (d === 'inbound') return 'inbound';
  if (d !== 'outbound-dial' || !line.number) return 'outbound';
  return sameNumber(param(p, 'From'), line.number, country) ? 'outbound' : 'inbound';
}

/** Agents reach Twilio as `client:alice` or `sip:101@...`; those are operators, never clients. */
/**
 * The agent a <Dial> leg rang, as the operator's extension: `client:101` and `sip:101@pbx.example.com` are
 * both extension `101`, which is what operators are configured with.
 */
export const agentId = (v: string | undefined) => /^(?:client|sip):([^@;]+)/i.exec(v ?? '')?.[1];

/** The event for one callback, or undefined for a callback that carries nothing to record. */
export function twilioCallRecord(
  p: Params,
  line: TelephonyLineSettings,
  raw: CallRecord['raw'],
  country: string,
): CallRecord | undefined {
  const callSid = param(p, 'CallSid');
  if (!callSid || callSid.length > 64) throw fieldError('CallSid', 'is required (at most 64 characters)');
  // Child legs of a <Dial> belong to the parent call: one activity downstream.
  const base = { vendor: 'twilio' as const, line, raw, deliveryId: callSid };
  const externalCallId = param(p, 'ParentCallSid') ?? callSid;
  const at = dateField(param(p, 'Timestamp'), 'Timestamp');
  const callStatus = param(p, 'CallStatus');

  if (!callStatus && param(p, 'RecordingSid')) {
    // Recording status callback: only a finished recording is worth an event ('in-progress', 'absent'...).
    const state = param(p, 'RecordingStatus');
    if (state && state !== 'completed') return undefined;
    const recordingUrl = httpUrl(param(p, 'RecordingUrl'));
    if (!recordingUrl) throw fieldError('RecordingUrl', 'must be an http(s) URL');
    return {
      ...base,
      externalCallId,
      stage: 'recording',
      status: 'answered',
      direction: 'inbound',
      recordingUrl,
    };
  }

  const mapped = lookup(STATUSES, callStatus);
  if (!mapped) throw fieldError('CallStatus', `must be one of ${Object.keys(STATUSES).join(', ')}`);
  const dir = direction(p, line, country);
  const from = param(p, 'From', 'Caller');
  const to = param(p, 'To', 'Called');
  const duration = seconds(param(p, 'CallDuration'));
  // A completed call that lasted 0 s was never connected. (A callback cannot know whether an earlier one said
  // in-progress; the router merges stages by externalCallId.)
  const status = callStatus === 'completed' && duration === 0 ? 'missed' : mapped.status;
  const ended = mapped.stage === 'ended';
  return {
    ...base,
    externalCallId,
    stage: mapped.stage,
    status,
    direction: dir,
    from,
    to,
    callerName: param(p, 'CallerName'),
    startedAt: mapped.stage === 'ringing' ? at : undefined,
    answeredAt: mapped.stage === 'answered' ? at : undefined,
    endedAt: ended ? at : undefined,
    durationSec: ended ? duration : undefined,
    talkSec: ended ? (status === 'answered' ? duration : 0) : undefined,
    recordingUrl: httpUrl(param(p, 'RecordingUrl')),
    operatorExtension:
      agentId(dir === 'inbound' ? to : from) ??
      (dir === 'inbound' && param(p, 'ParentCallSid') ? to : undefined),
  };
}

const TWILIO_DOC = {
  tags: ['inbound: telephony'],
  summary: "Twilio Voice status and recording callbacks (auth: X-Twilio-Signature with the line's authToken)",
  consumes: ['application/x-www-form-urlencoded'],
  security: [{ twilioSignature: [] }],
  params: { type: 'object', properties: { line: { type: 'string' } } },
  body: paramsDoc(
    "Twilio's callback parameters; those read:",
    {
      CallSid: 'the call (at most 64 characters)',
      ParentCallSid: 'the parent call of a <Dial> leg',
      CallStatus: Object.keys(STATUSES).join(', '),
      Direction: 'inbound, outbound-api, outbound-dial',
      From: 'caller',
      To: 'called',
      CallerName: 'caller name',
      CallDuration: 'seconds',
      Timestamp: 'RFC 2822 date of the event',
      RecordingSid: 'recording callbacks',
      RecordingStatus: 'completed, in-progress, absent',
      RecordingUrl: 'http(s) URL of the recording',
    },
    ['CallSid'],
  ),
};

export function twilioAdapter(ctx: ConnectorContext): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Params: { line: string } }>('/twilio/:line', { schema: TWILIO_DOC }, async (req, reply) => {
      const line = await findLine(ctx, 'twilio', req.params.line);
      const body = rawBody(req);
      // Twilio signs the public URL it was given; behind a proxy that rewrites it, set options.twilioUrl.
      const base = (stringOption(line, 'twilioUrl') ?? ctx.config.publicUrl).replace(/\/+$/, '');
      const token = stringOption(line, 'authToken') ?? line.secret;
      const signature = req.headers['x-twilio-signature'];
      const header = typeof signature === 'string' ? signature : undefined;
      if (!validTwilioSignature(token, base + req.url, new URLSearchParams(body.text), header)) {
        deny(ctx, 'twilio', line.key, header ? 'wrong X-Twilio-Signature' : 'no X-Twilio-Signature');
      }
      const raw = { contentType: body.contentType, body: body.text };
      const record = twilioCallRecord(parseForm(body.text), line, raw, ctx.config.defaultCountry);
      if (record) await publishCall(ctx, record);
      return reply.code(200).type('text/xml; charset=utf-8').send(EMPTY_TWIML);
    });
  };
}

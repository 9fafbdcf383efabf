import type { FastifyPluginAsync } from 'fastify';
import type { TelephonyLineSettings } from '../../channels/settings.js';
import type { ConnectorContext } from '../contract.js';
import { fieldError, httpUrl, rawBody, seconds } from '../webhook-http.js';
import { deny, findLine, stringOption, validBasic } from './auth.js';
import { type CallRecord, type CallStatus, publishCall, sameNumber } from './call-event.js';
import {
  cdrVariables,
  decodeCdrBody,
  epoch,
  type JsonCdr,
  originalProfile,
  stamp,
} from './freeswitch-cdr.js';

const BUSY = new Set(['USER_BUSY', 'CALL_REJECTED']);
/** Causes that mean "nobody picked up" rather than "the call could not be placed". */
const NOT_PICKED_UP = new Set([
  'NORMAL_CLEARING',
  'NO_ANSWER',
  'ORIGINATOR_CANCEL',
  'NO_USER_RESPONSE',
  'ALLOTTED_TIMEOUT',
  'LOSE_RACE',
  'PICKED_OFF',
  'USER_NOT_REGISTERED',
  'SUBSCRIBER_ABSENT',
]);

type Vars = (name: string) => string | undefined;

const extensionCheck = (line: TelephonyLineSettings) => {
  const max = Number.isInteger(line.options.extensionMaxDigits)
    ? (line.options.extensionMaxDigits as number)
    : 5;
  return (n: string | undefined) => !!n && new RegExp(`^\\d{2,${max}}$`).test(n);
};

/**
 * A b-leg (the originate towards an operator or a trunk) points at the a-leg that created it. Both CDRs of a
 * call then share the a-leg uuid as externalCallId and merge into one activity downstream.
 */
function legs(cdr: JsonCdr, v: Vars, queryUuid: string | undefined) {
  const profile = originalProfile(cdr);
  const origin = profile?.originator?.originator_caller_profiles?.[0];
  const uuid = v('uuid') ?? profile?.uuid ?? queryUuid;
  if (!uuid) throw fieldError('variables.uuid', 'is required');
  // call_uuid is last: on an a-leg it is the leg's own uuid, on a b-leg FreeSWITCH copies the a-leg's.
  const aLeg =
    v('originating_leg_uuid') ??
    v('originator') ??
    origin?.uuid ??
    v('other_loopback_from_uuid') ??
    v('call_uuid');
  const isB = aLeg !== undefined && aLeg !== uuid;
  return { uuid, isB, callId: isB ? aLeg : uuid, profile, origin };
}

/** FusionPBX sets call_direction; otherwise the side that is a short extension is the operator's. */
function callDirection(
  v: Vars,
  from: string | undefined,
  to: string | undefined,
  line: TelephonyLineSettings,
  country: string,
) {
  const declared = v('call_direction');
  if (declared === 'inbound' || declared === 'outbound') return declared;
  if (declared === 'local') return 'internal';
  const isExt = extensionCheck(line);
  if (isExt(from) && isExt(to)) return 'internal';
  if (isExt(from)) return 'outbound';
  return sameNumber(from, line.number, country) ? 'outbound' : 'inbound';
}

function outcome(v: Vars, isB: boolean): CallStatus {
  const answered = !!epoch(v('answer_epoch'));
  // An a-leg answered by an IVR but never bridged to anyone is a caller nobody talked to.
  const bridge = v('bridge_epoch');
  const talked = isB || bridge === undefined ? answered : !!epoch(bridge);
  const voicemail = v('last_app') === 'voicemail' || /app=voicemail/.test(v('last_arg') ?? '');
  if (answered && voicemail) return 'voicemail';
  if (talked) return 'answered';
  const cause = v('hangup_cause') ?? '';
  if (BUSY.has(cause)) return 'busy';
  return answered || NOT_PICKED_UP.has(cause) ? 'missed' : 'failed';
}

function recordingUrl(v: Vars, line: TelephonyLineSettings): string | undefined {
  const direct = httpUrl(v('recording_url') ?? v('record_url'));
  if (direct) return direct;
  // Recordings are files on the switch; options.recordingBaseUrl is where the administrator publishes them.
  const base = stringOption(line, 'recordingBaseUrl');
  const file = v('record_name') ?? v('recording_file') ?? v('record_file');
  if (!base || !file) return undefined;
  return httpUrl(`${base.replace(/\/+$/, '')}/${encodeURIComponent(file.split('/').pop()!)}`);
}

/** One CDR as a call record, or the reason it is not a client call (extension to extension). */
export function freeswitchCallRecord(
  cdr: JsonCdr,
  line: TelephonyLineSettings,
  raw: CallRecord['raw'],
  country: string,
  queryUuid?: string,
): CallRecord | { ignored: string } {
  const v = cdrVariables(cdr);
  const { uuid, isB, callId, profile, origin } = legs(cdr, v, queryUuid);
  // A b-leg reports the call from the a-leg's view (origin): the client and the dialled number, same as the a-leg.
  const from = isB
    ? (origin?.caller_id_number ?? v('caller_id_number') ?? profile?.caller_id_number)
    : (v('caller_id_number') ?? profile?.caller_id_number ?? v('sip_from_user') ?? v('ani'));
  const to = isB
    ? (origin?.destination_number ??
      v('destination_number') ??
      profile?.destination_number ??
      v('sip_to_user'))
    : (v('destination_number') ?? profile?.destination_number ?? v('sip_to_user') ?? v('sip_req_user'));
  const direction = callDirection(v, from, to, line, country);
  if (direction === 'internal') return { ignored: 'internal call between extensions' };

  const offset = stringOption(line, 'timezoneOffset') ?? 'Z';
  const startedAt = epoch(v('start_epoch')) ?? stamp(v('start_stamp'), offset);
  const answeredAt = epoch(v('answer_epoch')) ?? stamp(v('answer_stamp'), offset);
  const endedAt = epoch(v('end_epoch')) ?? stamp(v('end_stamp'), offset);
  const bridgedAt = epoch(v('bridge_epoch'));
  const status = outcome(v, isB);
  const duration = seconds(v('duration'));
  const isExt = extensionCheck(line);
  const operator = [
    v('dialed_extension'),
    v('dialed_user'),
    v('callee_id_number'),
    v('last_sent_callee_id_number'),
    isB ? profile?.destination_number : undefined,
    direction === 'outbound' ? from : to,
  ].find(isExt);
  const talked = status === 'answered' || status === 'voicemail';
  return {
    vendor: 'freeswitch',
    line,
    raw,
    externalCallId: callId,
    deliveryId: uuid,
    stage: 'ended',
    status,
    direction,
    from,
    to,
    callerName: isB ? origin?.caller_id_name : (v('caller_id_name') ?? profile?.caller_id_name),
    startedAt,
    answeredAt,
    endedAt,
    durationSec: duration,
    // On an a-leg, billsec also counts IVR time; the conversation starts at the bridge.
    talkSec: !talked
      ? 0
      : !isB && bridgedAt && endedAt
        ? (endedAt.getTime() - bridgedAt.getTime()) / 1000
        : seconds(v('billsec')),
    waitSec: talked ? seconds(v('waitsec') ?? v('answersec')) : duration,
    recordingUrl: recordingUrl(v, line),
    operatorExtension: operator,
    meta: { leg: isB ? 'b' : 'a', hangupCause: v('hangup_cause') },
  };
}

const FREESWITCH_DOC = {
  tags: ['inbound: telephony'],
  summary:
    'FreeSWITCH mod_json_cdr records (auth: HTTP Basic, user options.basicUser or the line key, password the secret)',
  consumes: [
    'application/json',
    'application/x-www-form-urlencoded',
    'application/x-www-form-base64-encoded',
  ],
  security: [{ basic: [] }],
  params: { type: 'object', properties: { line: { type: 'string' } } },
  querystring: {
    type: 'object',
    properties: { uuid: { type: 'string', description: 'the leg (added by mod_json_cdr)' } },
  },
  body: {
    type: 'object',
    description:
      'A JSON CDR ({"variables": {...}, "callflow": ...}), or cdr=<url-encoded JSON> / cdr=<base64 JSON>',
    properties: { variables: { type: 'object', additionalProperties: true } },
    additionalProperties: true,
  },
};

export function freeswitchAdapter(ctx: ConnectorContext): FastifyPluginAsync {
  return async (app) => {
    app.post<{ Params: { line: string }; Querystring: { uuid?: string } }>(
      '/freeswitch/:line',
      { schema: FREESWITCH_DOC },
      async (req, reply) => {
        const line = await findLine(ctx, 'freeswitch', req.params.line);
        // json_cdr.conf: <param name="cred" value="user:password"/> with the default auth-scheme (basic).
        const user = stringOption(line, 'basicUser') ?? line.key;
        if (!validBasic(req, user, line.secret)) deny(ctx, 'freeswitch', line.key, 'wrong basic credentials');
        const body = rawBody(req);
        const cdr = decodeCdrBody(body);
        const raw = { contentType: body.contentType, body: body.text };
        // mod_json_cdr appends ?uuid=<leg uuid> to the configured URL.
        const uuid = typeof req.query.uuid === 'string' ? req.query.uuid : undefined;
        const record = freeswitchCallRecord(cdr, line, raw, ctx.config.defaultCountry, uuid);
        if ('ignored' in record) return reply.code(200).send({ status: 'ignored', reason: record.ignored });
        const event = await publishCall(ctx, record);
        return reply.code(200).send({ id: event.id, status: 'accepted' });
      },
    );
  };
}

import type { TelephonyLineSettings } from '../../channels/settings.js';
import { date, fieldError, httpUrl, lookup, type Params, param, seconds } from '../webhook-http.js';
import { decodeCallId, derivedCallId, encodeCallId, type RegisteredCall } from './bitrix24-call-id.js';
import type { CallRecord, CallStatus } from './call-event.js';

/** What a method produced: the event to publish and Bitrix's `result` object to answer with. */
export interface MethodResult {
  record: CallRecord;
  result: Record<string, unknown>;
}

/** TYPE 4 (callback ordered by the client) and 5 (information call) are placed by us: outbound. */
const DIRECTIONS: Record<string, 'inbound' | 'outbound'> = {
  '1': 'outbound',
  '2': 'inbound',
  '3': 'inbound',
  '4': 'outbound',
  '5': 'outbound',
};

/** STATUS_CODE is SIP-like. 603 "declined" counts as busy (the callee refused), as FreeSWITCH CALL_REJECTED. */
export function statusFromCode(code: string): CallStatus {
  if (/^2\d\d$/.test(code)) return 'answered';
  if (code === '486' || code === '603') return 'busy';
  if (['304', '603-S', '480', '487', '408'].includes(code)) return 'missed';
  return 'failed';
}

const flag = (v: string | undefined) =>
  v === undefined ? undefined : !['0', 'n', 'no', 'false'].includes(v.toLowerCase());

function sides(call: RegisteredCall, line: TelephonyLineSettings) {
  const direction = lookup(DIRECTIONS, String(call.type))!;
  const own = call.lineNumber ?? line.number;
  return direction === 'inbound'
    ? { direction, from: call.phone, to: own }
    : { direction, from: own, to: call.phone };
}

export function register(
  p: Params,
  line: TelephonyLineSettings,
  raw: CallRecord['raw'],
  now: Date,
): MethodResult {
  const phone = param(p, 'PHONE_NUMBER');
  if (!phone || phone.length > 100) throw fieldError('PHONE_NUMBER', 'is required (at most 100 characters)');
  const type = param(p, 'TYPE') ?? '';
  if (!lookup(DIRECTIONS, type))
    throw fieldError('TYPE', 'must be 1 (outbound), 2, 3 (inbound), 4 (callback) or 5 (info)');
  const operator = param(p, 'USER_PHONE_INNER', 'USER_ID');
  if (!operator || operator.length > 100)
    throw fieldError('USER_PHONE_INNER', 'USER_PHONE_INNER or USER_ID is required');
  const startText = param(p, 'CALL_START_DATE');
  const startedAt = startText ? date(startText) : now;
  if (!startedAt) throw fieldError('CALL_START_DATE', 'must be a date, e.g. 2024-05-05T12:00:00+03:00');
  const external = param(p, 'EXTERNAL_CALL_ID');
  if (external && external.length > 150) throw fieldError('EXTERNAL_CALL_ID', 'is at most 150 characters');

  const lineNumber = param(p, 'LINE_NUMBER');
  const base = {
    line: line.key,
    phone,
    type: Number(type),
    start: Math.floor(startedAt.getTime() / 1000),
    operator,
    lineNumber,
  };
  const call: RegisteredCall = { ...base, externalCallId: external ?? derivedCallId(base) };
  const callId = encodeCallId(call);
  const crmCreate = flag(param(p, 'CRM_CREATE'));
  return {
    record: {
      vendor: 'bitrix24',
      line,
      raw,
      externalCallId: call.externalCallId,
      stage: 'ringing',
      status: 'ringing',
      ...sides(call, line),
      startedAt,
      operatorExtension: operator,
      meta: {
        bitrixCallId: callId,
        bitrixCallType: call.type,
        ...(crmCreate === undefined ? {} : { crmCreate }),
      },
    },
    // The adapter fills the entity fields from the read-only client directory when one is given.
    result: {
      CALL_ID: callId,
      CRM_CREATED_LEAD: null,
      CRM_CREATED_ENTITIES: [],
      CRM_ENTITY_TYPE: null,
      CRM_ENTITY_ID: null,
    },
  };
}

export function finish(
  p: Params,
  line: TelephonyLineSettings,
  raw: CallRecord['raw'],
  now: Date,
): MethodResult {
  const callId = param(p, 'CALL_ID');
  if (!callId) throw fieldError('CALL_ID', 'is required');
  const call = decodeCallId(callId);
  if (!call || call.line !== line.key) {
    throw fieldError(
      'CALL_ID',
      'was not issued by telephony.externalcall.register of this line',
      'UNPROCESSABLE',
    );
  }
  const durationText = param(p, 'DURATION');
  const duration = seconds(durationText);
  if (durationText && duration === undefined) throw fieldError('DURATION', 'must be a number of seconds');
  // Without STATUS_CODE, Bitrix itself treats a call with talk time as successful.
  const code = param(p, 'STATUS_CODE') ?? (duration ? '200' : '304');
  const status = statusFromCode(code);
  const recordText = param(p, 'RECORD_URL');
  const recordingUrl = httpUrl(recordText);
  if (recordText && !recordingUrl) throw fieldError('RECORD_URL', 'must be an http(s) URL');
  const startedAt = new Date(call.start * 1000);
  return {
    record: {
      vendor: 'bitrix24',
      line,
      raw,
      externalCallId: call.externalCallId,
      stage: 'ended',
      status,
      ...sides(call, line),
      startedAt,
      endedAt: now,
      // Bitrix's DURATION is the conversation time.
      durationSec: duration,
      talkSec: status === 'answered' ? duration : 0,
      recordingUrl,
      operatorExtension: param(p, 'USER_PHONE_INNER', 'USER_ID') ?? call.operator,
      meta: { bitrixCallId: callId, bitrixCallType: call.type, bitrixStatusCode: code },
    },
    result: {
      CALL_ID: callId,
      CALL_TYPE: call.type,
      CALL_DURATION: duration ?? 0,
      CALL_START_DATE: startedAt.toISOString(),
      CALL_FAILED_CODE: code,
      CRM_ACTIVITY_ID: null,
    },
  };
}

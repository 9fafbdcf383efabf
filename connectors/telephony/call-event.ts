import { createHash } from 'node:crypto';
import type { TelephonyLineSettings } from '../../channels/settings.js';
import { buildInboundContact } from '../../event/build.js';
import { normalisePhone } from '../../event/identity.js';
import type { CallInfo, InboundContact } from '../../event/inbound-contact.js';
import type { ConnectorContext } from '../contract.js';
import { seconds } from '../webhook-http.js';
import type { Vendor } from './auth.js';

export type CallStage = 'ringing' | 'answered' | 'ended' | 'recording';
export type CallStatus = CallInfo['status'];

/** What every adapter reduces its vendor's payload to. */
export interface CallRecord {
  vendor: Vendor;
  line: TelephonyLineSettings;
  /**
   * The call as the CRM sees it: every leg and every delivery of one call carries the same value, so the
   * router merges them into one activity (FreeSWITCH b-legs use the a-leg uuid, Twilio child calls the parent).
   */
  externalCallId: string;
  /** The vendor's id for what this delivery reports on (a leg, a CDR); defaults to externalCallId. */
  deliveryId?: string;
  stage: CallStage;
  status: CallStatus;
  direction: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  callerName?: string;
  startedAt?: Date;
  answeredAt?: Date;
  endedAt?: Date;
  durationSec?: number;
  talkSec?: number;
  waitSec?: number;
  recordingUrl?: string;
  operatorExtension?: string;
  /** Forces anonymity even for a number that looks real (a vendor flag such as a privacy header). */
  anonymous?: boolean;
  raw: { contentType: string; body: string };
  /** Vendor-specific extras, merged after the common meta keys. */
  meta?: Record<string, unknown>;
}

// Twilio presents withheld callers as the keypad spelling of a word: ANONYMOUS, UNAVAILABLE, RESTRICTED,
// BLOCKED, UNKNOWN. They parse as (invalid) numbers, so they must be caught before identity normalisation.
const KEYPAD_WORDS = new Set(['266696687', '86282452253', '7378742833', '2562533', '8656696']);

/** Empty, a word ('anonymous', 'Private', 'restricted'...), all zeros ('+00000') or a keypad word. */
export function isWithheldNumber(raw: string | undefined): boolean {
  const user = (raw ?? '')
    .trim()
    .replace(/^sips?:/i, '')
    .split('@')[0]!;
  const digits = user.replace(/\D/g, '');
  if (!digits || /^0+$/.test(digits)) return true;
  return KEYPAD_WORDS.has(digits);
}

/** Whether two spellings are one number ('8 495 765-43-21' and '+74957654321'), for own-line checks. */
export function sameNumber(a: string | undefined, b: string | undefined, country: string): boolean {
  if (!a || !b) return false;
  const na = normalisePhone(a, country);
  return na.valid && na.value === normalisePhone(b, country).value;
}

/**
 * Stable per vendor delivery, so a retry of the same delivery yields the same event id (the bus and router
 * deduplicate on it), while each stage and outcome of a call is its own event. Recording callbacks add the
 * recording, long URLs as a hash to stay within the 500-character limit.
 */
export function callExternalId(
  r: Pick<CallRecord, 'vendor' | 'externalCallId' | 'deliveryId' | 'stage' | 'status' | 'recordingUrl'>,
): string {
  const parts = [r.vendor, r.deliveryId ?? r.externalCallId, r.stage, r.status];
  if (r.stage === 'recording' && r.recordingUrl) {
    const url = r.recordingUrl;
    parts.push(url.length <= 200 ? url : createHash('sha256').update(url).digest('hex').slice(0, 32));
  }
  return parts.join(':');
}

const iso = (d: Date | undefined) => (d && !Number.isNaN(d.getTime()) ? d.toISOString() : undefined);

function occurredAt(r: CallRecord): Date | undefined {
  switch (r.stage) {
    case 'ringing':
      return r.startedAt;
    case 'answered':
      return r.answeredAt ?? r.startedAt;
    default:
      return r.endedAt ?? r.answeredAt ?? r.startedAt;
  }
}

export function buildCallEvent(r: CallRecord, opts: { defaultCountry: string; now?: Date }): InboundContact {
  const client = r.direction === 'inbound' ? r.from : r.to;
  // A delivery that names no number at all (a recording callback) is not evidence of a withheld caller.
  const anonymous = r.anonymous === true || (client !== undefined && isWithheldNumber(client));
  const ownSide = r.direction === 'inbound' ? r.to : r.from;
  const call: CallInfo = {
    status: r.status,
    externalCallId: r.externalCallId,
    durationSec: seconds(r.durationSec),
    talkSec: seconds(r.talkSec),
    waitSec: seconds(r.waitSec),
    recordingUrl: r.recordingUrl,
    operatorExtension: r.operatorExtension,
    from: r.from || undefined,
    to: r.to || undefined,
    startedAt: iso(r.startedAt),
    answeredAt: iso(r.answeredAt),
    endedAt: iso(r.endedAt),
    anonymous: anonymous || undefined,
  };
  // An event the schema still refuses (e.g. a 300-character id) is a 400 naming its fields, as on every
  // endpoint: api/http-errors.ts translates EventValidationError.
  return buildInboundContact(
    {
      channel: 'phone',
      kind: 'call',
      source: { type: 'line', key: r.line.key, name: r.line.source ?? r.line.name },
      externalId: callExternalId(r),
      direction: r.direction,
      occurredAt: occurredAt(r),
      // A withheld number gets no identity at all: an invented one would merge unrelated callers.
      sender: {
        name: r.direction === 'inbound' ? r.callerName : undefined,
        phones: client && !anonymous ? [client] : [],
      },
      content: { call },
      regionHints: {
        callerNumber: anonymous ? undefined : client || undefined,
        calledLine: r.line.number ?? (ownSide || undefined),
      },
      raw: r.raw,
      meta: {
        stage: r.stage,
        vendor: r.vendor,
        lineSource: r.line.source,
        lineRegionId: r.line.regionId,
        createLeadOnOutbound: r.line.createLeadOnOutbound,
        ...r.meta,
      },
    },
    opts,
  );
}

/** Builds, publishes and returns the event; resolves only once the bus holds it durably. */
export async function publishCall(ctx: ConnectorContext, r: CallRecord): Promise<InboundContact> {
  const event = buildCallEvent(r, { defaultCountry: ctx.config.defaultCountry });
  await ctx.bus.publish([event]);
  return event;
}

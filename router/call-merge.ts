import type { CallInfo, InboundContact } from '../event/inbound-contact.js';

/**
 * Vendors send several events per call (ringing, answered, hangup, recording) and retry them, in any
 * order. Every event is folded into one call record with this function, which is commutative and
 * idempotent: the same events in any order, any number of times, give the same record.
 */
export type CallRecord = CallInfo & {
  direction: 'inbound' | 'outbound';
  /** The owner's number as an identity (E.164 when valid): what a callback names. */
  clientNumber?: string;
  /**
   * Client numbers that events of this call named but that are not its owner's (a transfer, a caller id changed
   * between two deliveries, a b-leg that reports another party): recorded here, sorted, never made a client.
   */
  otherNumbers?: string[];
};

/** The key of the one activity all events of a vendor call fold into. */
export const callKey = (e: InboundContact): string | null => {
  const c = e.content.call;
  return c ? `call:${e.source.key}:${c.externalCallId}` : null;
};

// A stronger outcome replaces a weaker one: once answered, a late "no-answer" leg cannot turn it into a miss.
const STATUS_RANK: Record<CallInfo['status'], number> = {
  ringing: 0,
  missed: 1,
  failed: 2,
  busy: 3,
  voicemail: 4,
  answered: 5,
};

const minIso = (a?: string, b?: string) => (!a ? b : !b ? a : a < b ? a : b);
const maxIso = (a?: string, b?: string) => (!a ? b : !b ? a : a > b ? a : b);
const maxNum = (a?: number, b?: number) => (a == null ? b : b == null ? a : Math.max(a, b));
const pick = (a?: string, b?: string) => (!a ? b : !b ? a : a < b ? a : b); // deterministic choice of two values

export function mergeCall(a: CallRecord | undefined, b: CallRecord): CallRecord {
  if (!a) return normalise(b);
  const status = STATUS_RANK[b.status] > STATUS_RANK[a.status] ? b.status : a.status;
  return normalise({
    status,
    direction: a.direction === b.direction ? a.direction : 'inbound',
    externalCallId: a.externalCallId,
    startedAt: minIso(a.startedAt, b.startedAt),
    answeredAt: minIso(a.answeredAt, b.answeredAt),
    endedAt: maxIso(a.endedAt, b.endedAt),
    durationSec: maxNum(a.durationSec, b.durationSec),
    talkSec: maxNum(a.talkSec, b.talkSec),
    waitSec: maxNum(a.waitSec, b.waitSec),
    recordingUrl: pick(a.recordingUrl, b.recordingUrl),
    // The extension reported with the stronger outcome (who answered) beats the one that was only rung.
    operatorExtension:
      STATUS_RANK[b.status] > STATUS_RANK[a.status]
        ? (b.operatorExtension ?? a.operatorExtension)
        : STATUS_RANK[b.status] < STATUS_RANK[a.status]
          ? (a.operatorExtension ?? b.operatorExtension)
          : pick(a.operatorExtension, b.operatorExtension),
    from: pick(a.from, b.from),
    to: pick(a.to, b.to),
    anonymous: a.anonymous || b.anonymous || undefined,
    clientNumber: pick(a.clientNumber, b.clientNumber),
    otherNumbers: [...(a.otherNumbers ?? []), ...(b.otherNumbers ?? [])],
  });
}

/** Derives what can be derived (talk and wait time from timestamps) so every order ends the same. */
function normalise(c: CallRecord): CallRecord {
  const out: CallRecord = { ...c };
  const secs = (x?: string, y?: string) =>
    x && y ? Math.max(0, Math.round((Date.parse(y) - Date.parse(x)) / 1000)) : undefined;
  out.talkSec ??= secs(c.answeredAt, c.endedAt);
  out.waitSec ??= secs(c.startedAt, c.answeredAt ?? (c.status !== 'answered' ? c.endedAt : undefined));
  out.durationSec ??= secs(c.startedAt, c.endedAt);
  if (out.status === 'answered' && !out.answeredAt && !out.talkSec && !out.durationSec)
    out.talkSec = undefined;
  out.otherNumbers = [...new Set(c.otherNumbers)].sort();
  if (out.otherNumbers.length === 0) delete out.otherNumbers;
  for (const k of Object.keys(out) as (keyof CallRecord)[]) if (out[k] === undefined) delete out[k];
  return out;
}

export const isFinal = (c: CallRecord) => c.status !== 'ringing';
export const isMissedInbound = (c: CallRecord) =>
  c.direction === 'inbound' &&
  (c.status === 'missed' || c.status === 'busy' || c.status === 'voicemail') &&
  !c.anonymous;

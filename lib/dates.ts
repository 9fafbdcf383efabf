/**
 * Which instants the service takes. PostgreSQL's timestamptz refuses year 0 and offsets past ±15:59, and
 * JavaScript writes years past 9999 as `+010000-...`, which no ISO reader takes back; a contact dated before 1900
 * or with an offset no time zone uses (more than 14 hours) is a sender's bug, not a date. Everything that
 * reads a date from outside (event schema, API `date-time` fields, vendor payloads) uses these checks.
 */
const MIN_MS = Date.UTC(1900, 0, 1);
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const MAX_OFFSET_MIN = 14 * 60;

/** ISO 8601 date-time with a zone (`Z`, ±HH:MM, ±HHMM or ±HH), as the event and the API exchange them. */
const ISO = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d)(?::(\d\d)(\.\d{1,9})?)?([Zz]|([+-])(\d\d):?(\d\d)?)$/;

export const DATE_RANGE_TEXT = 'between 1900-01-01 and 9999-12-31, with an offset of at most ±14:00';

export function plausibleDate(d: Date | undefined): d is Date {
  const t = d?.getTime();
  return t !== undefined && !Number.isNaN(t) && t >= MIN_MS && t <= MAX_MS;
}

/** True for an RFC 3339 date-time that names a real calendar instant within the range above. */
export function plausibleIsoDateTime(s: string): boolean {
  const m = ISO.exec(s);
  if (!m) return false;
  const [, y, mo, d, h, mi, sec, , , sign, oh, om] = m;
  if (+mo! < 1 || +mo! > 12 || +h! > 23 || +mi! > 59 || +(sec ?? 0) > 59) return false;
  // Date.UTC rolls 31 February over into March: a day that does not exist in its month is refused.
  const day = new Date(Date.UTC(+y!, +mo! - 1, +d!));
  if (day.getUTCDate() !== +d! || +d! < 1) return false;
  const offsetMin = +(oh ?? 0) * 60 + +(om ?? 0);
  if (sign && (+(om ?? 0) > 59 || offsetMin > MAX_OFFSET_MIN)) return false;
  // Date.parse wants ±HH:MM; the instant is computed from the normalised text.
  const zone = sign ? `${sign}${oh}:${om ?? '00'}` : 'Z';
  return plausibleDate(new Date(`${y}-${mo}-${d}T${h}:${mi}:${sec ?? '00'}${m[7] ?? ''}${zone}`));
}

/** An IANA zone name Intl accepts ("Europe/Moscow"): an operator's "today" is counted in their own zone. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

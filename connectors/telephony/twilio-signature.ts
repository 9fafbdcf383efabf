import { createHmac } from 'node:crypto';
import { safeEqual } from '../../lib/credentials.js';

/**
 * X-Twilio-Signature: base64(HMAC-SHA1(authToken, url + name1 + value1 + name2 + value2 ...)) with the POST
 * parameters sorted by name (case-sensitive, byte order; repeated names by value). The url is exactly the one
 * configured in Twilio, query string included.
 */
export function twilioSignature(authToken: string, url: string, params: Iterable<[string, string]>): string {
  const pairs = [...params].sort(([ak, av], [bk, bv]) => compare(ak, bk) || compare(av, bv));
  const data = url + pairs.map(([k, v]) => k + v).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Twilio signs the URL as it was entered, and a proxy may add or drop the default port (":443"), so — like
 * Twilio's own helper libraries — both spellings are accepted. Any other port must match exactly.
 */
export function urlVariants(url: string): string[] {
  const m = url.match(/^(https?):\/\/([^/?#]*?)(:\d+)?([/?#].*)?$/i);
  if (!m) return [url];
  const [, scheme, host, port, rest = ''] = m;
  const defaultPort = scheme!.toLowerCase() === 'https' ? ':443' : ':80';
  if (port && port !== defaultPort) return [url];
  return [url, `${scheme}://${host}${port ? '' : defaultPort}${rest}`];
}

export function validTwilioSignature(
  authToken: string,
  url: string,
  params: URLSearchParams,
  header: string | undefined,
): boolean {
  if (!header) return false;
  const pairs = [...params];
  // Evaluate every variant (no short-circuit) so the timing does not reveal which URL spelling was tried last.
  const matches = urlVariants(url).map((u) => safeEqual(twilioSignature(authToken, u, pairs), header.trim()));
  return matches.includes(true);
}

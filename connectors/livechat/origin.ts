/**
 * The widget's allow-list: a browser always sends Origin on a WebSocket handshake, and a page of another site
 * must not chat in this widget's name (its visitors' history would be readable there). No Origin (a script, not
 * a browser) is refused too: the socket is for browsers on the widget's sites.
 */
const canonical = (origin: string) => origin.trim().toLowerCase().replace(/\/+$/, '');

export function originAllowed(origin: string | undefined, allowed: string[]): boolean {
  if (!origin || origin === 'null') return false;
  if (allowed.includes('*')) return true;
  const o = canonical(origin);
  return allowed.some((a) => canonical(a) === o);
}

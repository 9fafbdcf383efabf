import type { FastifyReply } from 'fastify';
import type { FormSettings } from '../../channels/settings.js';

/** Quality of `type` in an Accept header: exact match, else `major/*`, else `*\/*`, else 0. */
export function acceptQuality(accept: string | undefined, type: string): number {
  if (!accept) return 0;
  const major = `${type.split('/')[0]}/*`;
  let exact = -1;
  let range = -1;
  let any = -1;
  for (const item of accept.split(',')) {
    const [media = '', ...params] = item.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    const quality = Number.isFinite(q) ? q : 0;
    if (media === type) exact = Math.max(exact, quality);
    else if (media === major) range = Math.max(range, quality);
    else if (media === '*/*') any = Math.max(any, quality);
  }
  return exact >= 0 ? exact : range >= 0 ? range : Math.max(any, 0);
}

/**
 * Is this a browser navigation (a plain <form> post) rather than an API call? A browser's Accept prefers
 * text/html. Without a preference either way (no Accept, or `*\/*` as fetch() sends), a classic form content
 * type decides: scripts that want JSON back from a FormData post must send `Accept: application/json`.
 */
export function wantsHtml(accept: string | undefined, contentType: string | undefined): boolean {
  const html = acceptQuality(accept, 'text/html');
  const json = acceptQuality(accept, 'application/json');
  if (html !== json) return html > json;
  const ct = (contentType ?? '').toLowerCase();
  return ct.startsWith('application/x-www-form-urlencoded') || ct.startsWith('multipart/form-data');
}

/**
 * The one success answer, also given to bots caught by the honeypot so they cannot tell the difference:
 * 303 to the form's thank-you page for a browser, else 202 with the event id.
 */
export function answer(reply: FastifyReply, form: FormSettings, id: string, html: boolean): FastifyReply {
  if (html && form.redirectUrl) return reply.redirect(form.redirectUrl, 303);
  return reply.code(202).send({ id, status: 'accepted' });
}

import { convert } from 'html-to-text';
import sanitizeHtml from 'sanitize-html';

/**
 * Message bodies for the event. content.text is what operators read and search: the text part, or the HTML
 * converted to text when the sender sent HTML only. meta.html keeps the formatting for the console, sanitised
 * here once so no consumer has to trust mail HTML (scripts, event handlers, javascript: links, remote images
 * that would tell the sender when an operator opened the message).
 */
export interface BodyLimits {
  /** content.text is cut past this many characters (the event schema allows 1,000,000). */
  textMaxChars: number;
  /** meta.html is cut past this many characters, then sanitised again so the markup stays well-formed. */
  htmlMaxChars: number;
}

export interface Body {
  text?: string;
  textTruncated?: boolean;
  html?: string;
  htmlTruncated?: boolean;
}

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: sanitizeHtml.defaults.allowedTags.filter((t) => t !== 'img'),
  allowedAttributes: { a: ['href', 'title'], td: ['colspan', 'rowspan'], th: ['colspan', 'rowspan'] },
  allowedSchemes: ['http', 'https', 'mailto', 'tel'],
  disallowedTagsMode: 'discard',
};

/** HTML read to produce at most `max` characters: markup and styles take room, so well above `max`. */
const inputBound = (max: number) => Math.max(max * 10, 2_000_000);

export function htmlToText(html: string): string {
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: 'img', format: 'skip' },
      // A javascript: link is noise at best in text an operator reads.
      {
        selector: 'a',
        options: {
          hideLinkHrefIfSameAsText: true,
          pathRewrite: (p: string) => (/^\s*javascript:/i.test(p) ? '' : p),
        },
      },
      // Mail HTML lays out whole messages in tables: keep cells apart and headings as written.
      { selector: 'table', format: 'dataTable' },
      ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h) => ({ selector: h, options: { uppercase: false } })),
    ],
  }).trim();
}

export function sanitiseHtml(html: string, maxChars: number): { html: string; truncated: boolean } {
  // Sanitising is linear but not cheap: a 20 MB HTML part is cut before it is parsed at all.
  const input = html.length > inputBound(maxChars) ? html.slice(0, inputBound(maxChars)) : html;
  let out = sanitizeHtml(input, SANITIZE).trim();
  if (out.length <= maxChars && input === html) return { html: out, truncated: false };
  // Cut the clean output and let the sanitiser close the tags the cut left open.
  if (out.length > maxChars) out = sanitizeHtml(out.slice(0, maxChars), SANITIZE).slice(0, maxChars);
  return { html: out, truncated: true };
}

export function extractBody(parsed: { text?: string; html?: string | false }, limits: BodyLimits): Body {
  const html = typeof parsed.html === 'string' && parsed.html.trim() ? parsed.html : undefined;
  let text = parsed.text?.trim() ? parsed.text : undefined;
  // HTML-only mail: the text is made here. The input is cut first: converting 20 MB of HTML to keep 100 KB of
  // text would be wasted work.
  if (!text && html) text = htmlToText(html.slice(0, inputBound(limits.textMaxChars))) || undefined;
  const body: Body = {};
  if (text !== undefined) {
    const trimmed = text.replace(/\s+$/, '');
    body.text = trimmed.slice(0, limits.textMaxChars);
    if (trimmed.length > limits.textMaxChars) body.textTruncated = true;
  }
  if (html !== undefined) {
    const s = sanitiseHtml(html, limits.htmlMaxChars);
    body.html = s.html;
    if (s.truncated) body.htmlTruncated = true;
  }
  return body;
}

import type { Attachment } from '../../event/inbound-contact.js';
import { httpUrl } from '../webhook-http.js';

/**
 * VK message attachments as metadata: the VK media id (`photo<owner>_<id>[_<access_key>]`, the form
 * messages.send and the VK UI use) as fileId, and the direct URL VK serves the file from, which
 * outbound/messengers/vk.sender's fetchFile downloads when an operator opens it. Types we do not know keep
 * their VK type as name, so nothing the client sent disappears from the conversation.
 */
type Raw = Record<string, unknown> & { type: string };

const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
const obj = (v: unknown) =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

function mediaId(type: string, media: Record<string, unknown>): string | undefined {
  const owner = media.owner_id;
  const id = media.id;
  if (typeof owner !== 'number' || typeof id !== 'number') return undefined;
  const key = str(media.access_key);
  return `${type}${owner}_${id}${key ? `_${key}` : ''}`;
}

/** The largest of VK's image variants (photo sizes, sticker images). */
function largest(list: unknown): string | undefined {
  if (!Array.isArray(list)) return undefined;
  let best: { url: string; area: number } | undefined;
  for (const item of list) {
    const o = obj(item);
    const url = httpUrl(str(o?.url) ?? str(o?.src));
    if (!o || !url) continue;
    const area = (int(o.width) ?? 0) * (int(o.height) ?? 0);
    if (!best || area >= best.area) best = { url, area };
  }
  return best?.url;
}

/** VK document types (docs_doc.type): 3 gif, 4 image, 5 audio, 6 video; the rest are documents. */
const DOC_KIND: Record<number, Attachment['kind']> = { 3: 'image', 4: 'image', 5: 'audio', 6: 'video' };

export function vkAttachment(raw: Raw): Attachment {
  const media = obj(raw[raw.type]) ?? {};
  switch (raw.type) {
    case 'photo':
      return {
        kind: 'image',
        fileId: mediaId('photo', media),
        url: largest(media.sizes) ?? httpUrl(str(obj(media.orig_photo)?.url)),
        caption: str(media.text),
      };
    case 'doc': {
      const ext = str(media.ext);
      const title = str(media.title);
      return {
        kind: DOC_KIND[int(media.type) ?? 0] ?? 'document',
        fileId: mediaId('doc', media),
        url: httpUrl(str(media.url)),
        name:
          title && ext && !title.toLowerCase().endsWith(`.${ext.toLowerCase()}`) ? `${title}.${ext}` : title,
        size: int(media.size),
      };
    }
    case 'audio_message':
      return {
        kind: 'voice',
        fileId: mediaId('audio_message', media),
        url: httpUrl(str(media.link_ogg)) ?? httpUrl(str(media.link_mp3)),
        mimeType: str(media.link_ogg) ? 'audio/ogg' : 'audio/mpeg',
      };
    case 'audio':
      return {
        kind: 'audio',
        fileId: mediaId('audio', media),
        url: httpUrl(str(media.url)),
        name: [str(media.artist), str(media.title)].filter(Boolean).join(' — ') || undefined,
      };
    case 'video':
      return {
        kind: 'video',
        fileId: mediaId('video', media),
        url: httpUrl(str(media.player)),
        name: str(media.title),
      };
    case 'sticker': {
      const id = int(media.sticker_id);
      return {
        kind: 'sticker',
        fileId: id === undefined ? undefined : `sticker${id}`,
        url: largest(media.images) ?? largest(media.images_with_background),
      };
    }
    case 'wall': {
      const owner = media.owner_id ?? media.to_id ?? media.from_id;
      const id = media.id;
      const ref = typeof owner === 'number' && typeof id === 'number' ? `wall${owner}_${id}` : undefined;
      return {
        kind: 'other',
        name: 'wall',
        fileId: ref,
        url: ref ? `https://vk.com/${ref}` : undefined,
        caption: str(media.text)?.slice(0, 4_096),
      };
    }
    case 'link':
      return { kind: 'other', name: str(media.title) ?? 'link', url: httpUrl(str(media.url)) };
    default:
      return { kind: 'other', name: raw.type, fileId: mediaId(raw.type, media) };
  }
}

/** Strings past the event schema's limits are cut rather than refused: the message itself must get through. */
export function vkAttachments(list: Raw[]): Attachment[] {
  return list.slice(0, 20).map((raw) => {
    const a = vkAttachment(raw);
    const cut = (s: string | undefined, n: number) => (s && s.length > n ? s.slice(0, n) : s);
    return Object.fromEntries(
      Object.entries({
        ...a,
        fileId: cut(a.fileId, 1_000),
        name: cut(a.name, 1_000),
        caption: cut(a.caption, 4_096),
        url: a.url && a.url.length <= 2_000 ? a.url : undefined,
      }).filter(([, v]) => v !== undefined),
    ) as Attachment;
  });
}

import type { Attachment, MessageInfo } from '../../event/inbound-contact.js';
import type { TgMessage } from './update-schema.js';

/**
 * What a Telegram Message carries, as content.message fields. Files travel as metadata only (file_id, name,
 * type, size); the sender's fetchFile downloads one when an operator opens it.
 */
export function attachments(m: TgMessage): Attachment[] {
  const caption = m.caption || undefined;
  const out: Attachment[] = [];
  if (m.photo?.length) {
    // Telegram sends every size it made of the photo; the largest is the one worth keeping.
    const area = (p: (typeof m.photo)[number]) => (p.width ?? 0) * (p.height ?? 0) || (p.file_size ?? 0);
    const best = m.photo.reduce((a, b) => (area(b) >= area(a) ? b : a));
    out.push({ kind: 'image', fileId: best.file_id, size: best.file_size, caption });
  }
  if (m.document) out.push(file('document', m.document, caption));
  if (m.animation && !m.document) out.push(file('video', m.animation, caption));
  if (m.video) out.push(file('video', m.video, caption));
  if (m.video_note) out.push(file('video', m.video_note, caption));
  if (m.voice) out.push(file('voice', m.voice, caption));
  if (m.audio) {
    const title = [m.audio.performer, m.audio.title].filter(Boolean).join(' - ') || undefined;
    out.push({ ...file('audio', m.audio, caption), name: m.audio.file_name ?? title });
  }
  if (m.sticker) {
    // Sticker formats per the Bot API: .webp (static), .tgs (animated), .webm (video).
    const mimeType = m.sticker.is_animated
      ? 'application/x-tgsticker'
      : m.sticker.is_video
        ? 'video/webm'
        : 'image/webp';
    out.push({
      kind: 'sticker',
      fileId: m.sticker.file_id,
      size: m.sticker.file_size,
      mimeType,
      name: m.sticker.emoji,
    });
  }
  return out;
}

function file(
  kind: Attachment['kind'],
  f: { file_id: string; file_size?: number; file_name?: string; mime_type?: string },
  caption: string | undefined,
): Attachment {
  return {
    kind,
    fileId: f.file_id,
    name: f.file_name || undefined,
    mimeType: f.mime_type || undefined,
    size: f.file_size,
    caption,
  };
}

export function location(m: TgMessage): MessageInfo['location'] {
  if (m.venue) {
    const { latitude, longitude } = m.venue.location;
    return { latitude, longitude, name: m.venue.title || undefined, address: m.venue.address || undefined };
  }
  return m.location ? { latitude: m.location.latitude, longitude: m.location.longitude } : undefined;
}

/**
 * A contact card. Its phone is the sender's own only when the card names the sender (contact.user_id equals
 * from.id): that is what Telegram's "share my phone number" button sends. Any other card is someone else's.
 */
export function sharedContact(m: TgMessage): MessageInfo['sharedContact'] {
  const c = m.contact;
  if (!c) return undefined;
  const name = [c.first_name, c.last_name].filter(Boolean).join(' ') || undefined;
  const ownPhone = c.user_id !== undefined && m.from !== undefined && c.user_id === m.from.id;
  return { phone: c.phone_number || undefined, name, ownPhone };
}

/** Chat-scoped: Telegram numbers messages per chat, so a message id alone is not unique for a bot. */
export const vendorMessageId = (chatId: number, messageId: number) => `${chatId}:${messageId}`;

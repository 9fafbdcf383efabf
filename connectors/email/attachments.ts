import { createHash } from 'node:crypto';

/**
 * Attachments travel as metadata; the bytes go inline (base64) only when small, because the event crosses the
 * bus and is stored as JSON. Large ones stay in the mailbox: mailboxId + folder + uid (in meta) and partId
 * locate them for a later download, and the checksum proves it is the same file.
 */
export interface AttachmentMeta {
  filename?: string;
  contentType: string;
  /** Decoded size in bytes. */
  size: number;
  /** SHA-256 of the decoded content, hex. */
  checksum: string;
  /** MIME part number, to fetch the part from IMAP later (BODY[partId]). */
  partId?: string;
  contentId?: string;
  disposition?: string;
  /** An image referenced from the HTML (multipart/related), not a file the client attached. */
  related?: boolean;
  /** base64 of the content, present only when the size limits allowed it. */
  content?: string;
  /** Why content is absent: larger than the mailbox's attachmentMaxBytes, or the per-message total is spent. */
  omitted?: 'too-large' | 'total-limit';
}

export interface SourceAttachment {
  filename?: string;
  contentType: string;
  content: Buffer;
  size?: number;
  partId?: string | null;
  contentId?: string;
  contentDisposition?: string;
  related?: boolean;
}

export function attachmentMeta(
  list: SourceAttachment[],
  limits: { maxBytes: number; totalMaxBytes: number },
): AttachmentMeta[] {
  let budget = limits.totalMaxBytes;
  return list.map((a) => {
    const size = a.content.length;
    const m: AttachmentMeta = {
      filename: a.filename?.slice(0, 255),
      contentType: a.contentType,
      size,
      checksum: createHash('sha256').update(a.content).digest('hex'),
      partId: a.partId ?? undefined,
      contentId: a.contentId,
      disposition: a.contentDisposition,
      related: a.related || undefined,
    };
    if (size > limits.maxBytes) m.omitted = 'too-large';
    else if (size > budget) m.omitted = 'total-limit';
    else {
      m.content = a.content.toString('base64');
      budget -= size;
    }
    return m;
  });
}

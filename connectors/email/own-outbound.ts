import { isOwnMessageId, OUTBOUND_HEADER } from '../../channels/email/message-id.js';
import { type HeaderLines, hasHeader } from './headers.js';

/** Our own outbound mail seen again: skipped (the cursor still moves past it). */
export function isOwnOutbound(headerLines: HeaderLines, messageId: string | undefined): boolean {
  return hasHeader(headerLines, OUTBOUND_HEADER) || isOwnMessageId(messageId);
}

import {
  type LivechatAccount,
  livechatOutboundId,
  NOTICE_TEXT_MAX,
  visitorTopic,
} from '../../channels/widgets.js';
import type { MessengerSender, SenderDeps } from './contract.js';
import { VendorSendError } from './contract.js';

/**
 * Operators' replies in a website live chat. The "vendor" is our own visitor socket: the reply is announced on the
 * visitor's hub topic (every tab of theirs, on whatever instance it is connected to), whole when it is short, and
 * each socket sends it on (reading it first when it came by id only); a visitor who is away sees it in the
 * history when they come back. Sent = announced; delivered = a socket passed it to the browser
 * (connectors/livechat reports that as a delivery status).
 * Announcing twice is harmless (the widget keeps one message per id), so a reply interrupted mid-attempt is
 * simply announced again.
 */
export function createLivechatSender(deps: SenderDeps): MessengerSender<LivechatAccount> {
  return {
    vendor: 'livechat',
    idempotent: true,
    async send(account, message) {
      if (message.attachments?.length || message.template)
        throw new VendorSendError('rejected', 'the live chat takes text only');
      if (!message.text?.trim()) throw new VendorSendError('rejected', 'nothing to send: no text');
      if (message.messageId === undefined) throw new VendorSendError('rejected', 'the message has no id');
      if (!deps.realtime) throw new VendorSendError('unavailable', 'no real-time hub in this process');
      try {
        // A short reply travels whole, so the visitor's sockets show it without reading it back (a PostgreSQL
        // NOTIFY takes 8,000 bytes); otherwise, or from the worker's retry, they read it by its id.
        const whole =
          message.shown && Buffer.byteLength(message.text) <= NOTICE_TEXT_MAX
            ? {
                message: {
                  id: message.messageId,
                  direction: 'out',
                  text: message.text,
                  sentAt: message.shown.sentAt,
                  ...(message.shown.author ? { author: message.shown.author } : {}),
                },
              }
            : {};
        await deps.realtime.publish({
          topic: visitorTopic(account.key, message.chatId),
          type: 'message',
          data: { messageId: message.messageId, conversationId: message.conversationId, ...whole },
        });
      } catch (err) {
        throw new VendorSendError('unavailable', `real-time hub: ${(err as Error)?.message ?? err}`, {
          cause: err,
        });
      }
      return { vendorMessageId: livechatOutboundId(message.messageId) };
    },
    async fetchFile() {
      throw new VendorSendError('rejected', 'live-chat visitors send no files');
    },
  };
}

import { type LivechatAccount, livechatOutboundId, visitorTopic } from '../../channels/widgets.js';
import type { MessengerSender, SenderDeps } from './contract.js';
import { VendorSendError } from './contract.js';

/**
 * Operators' replies in a website live chat. The "vendor" is our own visitor socket: the reply is announced on the
 * visitor's hub topic (every tab of theirs, on whatever instance it is connected to), and each socket reads the
 * message and sends it on; a visitor who is away sees it in the history when they come back. Sent = announced;
 * delivered = a socket passed it to the browser (connectors/livechat reports that as a delivery status).
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
        await deps.realtime.publish({
          topic: visitorTopic(account.key, message.chatId),
          type: 'message',
          data: { messageId: message.messageId, conversationId: message.conversationId },
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

import { posix } from 'node:path';
import { Telegram } from 'telegraf';
import type { Message } from 'telegraf/types';
import type { TelegramAccount } from '../../channels/messengers.js';
import type { Attachment } from '../../event/inbound-contact.js';
import type { FetchedFile, MessengerSender, OutgoingMessage, SenderDeps, SendResult } from './contract.js';
import { VendorSendError } from './contract.js';
import { redact, toSendError } from './telegram-errors.js';

/** Bot API limits: a caption holds at most 1024 characters, a text message 4096. */
const CAPTION_MAX = 1_024;

/**
 * Operators' replies through the Bot API with telegraf's Telegram client (base URL from configuration, so
 * tests run it against a local server). Text goes as sendMessage; a file as sendPhoto (images) or
 * sendDocument, given as a URL Telegram downloads itself or as a file_id it already has, the text as its
 * caption when it fits. Telegram has no idempotency key: a message of several parts is several calls, and a
 * retry after a partial failure repeats the parts already sent (README, "Telegram").
 */
export function createTelegramSender(deps: SenderDeps): MessengerSender<TelegramAccount> {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const root = deps.urls.telegram.endsWith('/') ? deps.urls.telegram : `${deps.urls.telegram}/`;
  const client = (account: TelegramAccount) => new Telegram(account.botToken, { apiRoot: root });
  // telegraf types the signal as node-fetch's AbortSignal shim; Node's own one is what node-fetch accepts.
  const signal = () => ({ signal: AbortSignal.timeout(timeoutMs) as never });

  async function call<T>(what: () => Promise<T>): Promise<T> {
    try {
      return await what();
    } catch (err) {
      throw toSendError(err);
    }
  }

  return {
    vendor: 'telegram',
    async send(account, message: OutgoingMessage): Promise<SendResult> {
      const tg = client(account);
      const chat_id = message.chatId;
      const text = message.text?.trim() ? message.text : undefined;
      const files = message.attachments ?? [];
      const sent: Message[] = [];
      // The text rides as the caption of a single file when it fits; otherwise it is its own message, first.
      const textAsCaption =
        text !== undefined && files.length === 1 && !files[0]!.caption && text.length <= CAPTION_MAX;
      if (text !== undefined && !textAsCaption) {
        sent.push(await call(() => tg.callApi('sendMessage', { chat_id, text }, signal())));
      }
      for (const file of files) {
        const media = file.fileId ?? file.url;
        if (!media) throw new VendorSendError('rejected', 'attachment has neither a file id nor a URL');
        const caption = textAsCaption ? text : file.caption;
        sent.push(
          await call<Message>(() =>
            file.kind === 'image'
              ? tg.callApi('sendPhoto', { chat_id, photo: media, caption }, signal())
              : tg.callApi('sendDocument', { chat_id, document: media, caption }, signal()),
          ),
        );
      }
      const first = sent[0];
      if (!first) throw new VendorSendError('rejected', 'nothing to send: no text and no attachment');
      return { vendorMessageId: `${first.chat.id}:${first.message_id}`, response: sent };
    },

    async fetchFile(account, attachment: Attachment): Promise<FetchedFile> {
      if (!attachment.fileId) throw new VendorSendError('rejected', 'attachment has no Telegram file_id');
      const tg = client(account);
      const file = await call(() => tg.callApi('getFile', { file_id: attachment.fileId! }, signal()));
      if (!file.file_path) throw new VendorSendError('rejected', 'Telegram gave no file_path for the file');
      const link = await tg.getFileLink(file);
      let res: Response;
      try {
        res = await fetch(link, { signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        throw toSendError(err);
      }
      if (!res.ok) {
        const reason = res.status >= 500 || res.status === 429 ? 'unavailable' : 'rejected';
        throw new VendorSendError(reason, redact(`file download answered ${res.status}`), {
          vendorCode: String(res.status),
        });
      }
      return {
        body: Buffer.from(await res.arrayBuffer()),
        mimeType: attachment.mimeType ?? res.headers.get('content-type') ?? undefined,
        name: attachment.name ?? posix.basename(file.file_path),
      };
    },
  };
}

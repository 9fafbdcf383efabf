import { TelegramError } from 'telegraf';
import { VendorSendError } from './contract.js';

/**
 * Bot API failures as VendorSendError. Telegram answers {ok:false, error_code, description, parameters}; the
 * error_code says the class (429, 403, 401, 5xx), but every refused request is a 400 and only the description
 * tells a missing chat from a bad file, so those few are matched on Telegram's documented wording.
 */
const BAD_RECIPIENT = /chat not found|user not found|PEER_ID_INVALID|group chat was upgraded/i;

export function toSendError(err: unknown): VendorSendError {
  if (err instanceof VendorSendError) return err;
  if (!(err instanceof TelegramError)) {
    // Network failure, timeout (AbortError), a proxy's non-JSON answer: nothing says the send was refused.
    const message = err instanceof Error ? err.message : String(err);
    return new VendorSendError('unavailable', `Telegram unreachable: ${redact(message)}`, { cause: err });
  }
  const code = err.code;
  const description = err.description ?? '';
  const vendorCode = String(code);
  if (code === 429) {
    const retryAfterSec = err.parameters?.retry_after;
    return new VendorSendError('rate_limited', description, { vendorCode, retryAfterSec });
  }
  if (code >= 500) return new VendorSendError('unavailable', description, { vendorCode });
  // 404 is what the Bot API answers for a token that is not a token at all.
  if (code === 401 || code === 404) return new VendorSendError('unauthorized', description, { vendorCode });
  if (code === 403) return new VendorSendError('blocked', description, { vendorCode });
  if (code === 400 && (BAD_RECIPIENT.test(description) || err.parameters?.migrate_to_chat_id)) {
    return new VendorSendError('bad_recipient', description, { vendorCode });
  }
  return new VendorSendError('rejected', description, { vendorCode });
}

/** telegraf's network errors name the request URL, and the URL holds the bot token. */
export const redact = (text: string) => text.replace(/bot\d+:[A-Za-z0-9_-]+/g, 'bot<token>');

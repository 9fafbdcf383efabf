import type { TelegramAccount } from '../../channels/messengers.js';
import { buildInboundContact } from '../../event/build.js';
import { EventValidationError, type InboundContact } from '../../event/inbound-contact.js';
import { AppError } from '../../lib/errors.js';
import { accountOrigin } from '../messenger-account.js';
import { invalid } from '../webhook-http.js';
import { payloadUtm, startPayload } from './deep-link.js';
import { attachments, location, sharedContact, vendorMessageId } from './message-content.js';
import { type TgMessage, UpdateSchema, updateKind } from './update-schema.js';

/** What became of one update: an event to publish, or why there is none (counted, logged at debug). */
export type MappedUpdate =
  | { kind: string; outcome: 'published'; event: InboundContact }
  | { kind: string; outcome: 'ignored' | 'unhandled'; reason: string };

export interface MapOptions {
  defaultCountry: string;
  now?: Date;
}

/**
 * One Bot API Update -> at most one InboundContact. `message` and `edited_message` from people become events;
 * messages from bots are ignored; every other update type (channel posts, callback queries, chat member
 * changes...) is unhandled: acknowledged to Telegram and counted, never an error. Throws AppError VALIDATION
 * (naming the field) for a body that is not an Update.
 */
export function updateToEvent(
  input: unknown,
  account: TelegramAccount,
  raw: { contentType: string; body: string },
  opts: MapOptions,
): MappedUpdate {
  const parsed = UpdateSchema.safeParse(input);
  if (!parsed.success) throw invalid(parsed.error);
  const update = parsed.data;
  const kind = updateKind(update);
  const message = update.message ?? update.edited_message;
  if (!message || (kind !== 'message' && kind !== 'edited_message')) {
    return { kind, outcome: 'unhandled', reason: `update type ${kind}` };
  }
  const from = message.from;
  if (!from) return { kind, outcome: 'unhandled', reason: 'message without a sender' };
  // Bots (ours included, in groups) never become clients.
  if (from.is_bot) return { kind, outcome: 'ignored', reason: 'sent by a bot' };

  const edited = kind === 'edited_message';
  const files = attachments(message);
  const text = message.text ?? message.caption;
  const place = location(message);
  const contact = sharedContact(message);
  if (!text && !files.length && !place && !contact) {
    // Service messages (members joined, pinned, a poll...) carry nothing a conversation shows.
    return { kind, outcome: 'unhandled', reason: 'message without text, file, location or contact' };
  }
  const payload = edited ? undefined : startPayload(message.text);
  const reply = message.reply_to_message;
  const origin = accountOrigin(account);
  try {
    const event = buildInboundContact(
      {
        channel: 'telegram',
        kind: 'message',
        direction: 'inbound',
        source: origin.source,
        externalId: externalId(message, edited),
        occurredAt: new Date((edited ? (message.edit_date ?? message.date) : message.date) * 1000),
        sender: {
          name: [from.first_name, from.last_name].filter(Boolean).join(' ') || from.username,
          messengerIds: [{ kind: 'telegram', id: String(from.id) }],
          phones: contact?.ownPhone && contact.phone ? [contact.phone] : [],
        },
        content: {
          text: text || undefined,
          message: {
            vendorMessageId: vendorMessageId(message.chat.id, message.message_id),
            chatId: String(message.chat.id),
            attachments: files.length ? files : undefined,
            edited: edited || undefined,
            replyToVendorMessageId: reply
              ? vendorMessageId(reply.chat?.id ?? message.chat.id, reply.message_id)
              : undefined,
            location: place,
            sharedContact: contact,
          },
        },
        utm: payload ? payloadUtm(payload) : {},
        raw,
        meta: {
          ...origin.meta,
          updateId: update.update_id,
          chatType: message.chat.type,
          username: from.username,
          startPayload: payload,
        },
      },
      opts,
    );
    return { kind, outcome: 'published', event };
  } catch (e) {
    // A value the event schema still refuses (an over-long caption, more than 20 files...).
    if (e instanceof EventValidationError) {
      throw new AppError('UNPROCESSABLE', e.message, { fields: e.issues.map((i) => i.path), cause: e });
    }
    throw e;
  }
}

/**
 * Stable per message and per edit: a redelivered update yields the same event id (a no-op downstream), while
 * each edit (its own edit_date) is its own event about the same vendorMessageId.
 */
function externalId(m: TgMessage, edited: boolean): string {
  const id = vendorMessageId(m.chat.id, m.message_id);
  return edited ? `${id}:edit:${m.edit_date ?? m.date}` : id;
}

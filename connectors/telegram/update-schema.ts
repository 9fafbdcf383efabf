import { z } from 'zod';

/**
 * The parts of a Bot API Update (https://core.telegram.org/bots/api#update) the connector reads, checked
 * before anything is mapped, so a malformed body is a 400 naming the field. Objects stay loose: Telegram adds
 * fields with every Bot API release and an unknown field is never an error.
 */
const int = z.number().int();
const size = z.number().int().min(0).optional();
const text = z.string().optional();

const User = z.looseObject({
  id: int,
  is_bot: z.boolean().optional(),
  first_name: text,
  last_name: text,
  username: text,
});

const Chat = z.looseObject({ id: int, type: text });

const FileBase = { file_id: z.string().min(1), file_unique_id: text, file_size: size };

const PhotoSize = z.looseObject({ ...FileBase, width: int.optional(), height: int.optional() });
const MediaFile = z.looseObject({ ...FileBase, file_name: text, mime_type: text });
const Audio = MediaFile.extend({ title: text, performer: text });
const Sticker = z.looseObject({
  ...FileBase,
  emoji: text,
  set_name: text,
  is_animated: z.boolean().optional(),
  is_video: z.boolean().optional(),
});
const Location = z.looseObject({ latitude: z.number(), longitude: z.number() });

export const MessageSchema = z.looseObject({
  message_id: int,
  date: int,
  chat: Chat,
  from: User.optional(),
  edit_date: int.optional(),
  text,
  caption: text,
  photo: z.array(PhotoSize).optional(),
  document: MediaFile.optional(),
  voice: MediaFile.optional(),
  audio: Audio.optional(),
  video: MediaFile.optional(),
  video_note: MediaFile.optional(),
  animation: MediaFile.optional(),
  sticker: Sticker.optional(),
  location: Location.optional(),
  venue: z.looseObject({ location: Location, title: text, address: text }).optional(),
  contact: z
    .looseObject({ phone_number: z.string(), first_name: text, last_name: text, user_id: int.optional() })
    .optional(),
  reply_to_message: z.looseObject({ message_id: int, chat: Chat.optional() }).optional(),
});

export const UpdateSchema = z.looseObject({
  update_id: int.min(0),
  message: MessageSchema.optional(),
  edited_message: MessageSchema.optional(),
});

export type TgMessage = z.infer<typeof MessageSchema>;
export type TgUpdate = z.infer<typeof UpdateSchema>;

/** The update's type: the one field besides update_id (message, edited_message, channel_post, callback_query...). */
export function updateKind(update: Record<string, unknown>): string {
  return Object.keys(update).find((k) => k !== 'update_id') ?? 'unknown';
}

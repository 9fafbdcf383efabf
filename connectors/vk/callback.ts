import { z } from 'zod';

/**
 * The VK Callback API's wire format (API 5.199; VKCOM/vk-api-schema callback/objects.json), only the fields we
 * read. Ids are int64 in VK's schema, but real values stay far below 2^53 (user ids ~10^9, group chats
 * 2000000000 + N, communities ~10^8): the body is parsed with lib/json's parseJsonExact, so an id that ever
 * exceeded 2^53 would arrive as a string and be refused naming its field, never silently rounded.
 */
const vkId = z.number().int();

/** Every event: `{type, group_id, event_id, v, secret, object}`; `secret` is absent when none is set in VK. */
export const CallbackEnvelope = z.object({
  type: z.string().min(1).max(100),
  group_id: vkId.positive(),
  event_id: z.string().max(200).optional(),
  v: z.string().max(20).optional(),
  secret: z.string().max(200).optional(),
  object: z.unknown().optional(),
});
export type CallbackEnvelope = z.infer<typeof CallbackEnvelope>;

/** A message quoted by reply_message or carried in fwd_messages (messages_foreign_message). */
const ForeignMessage = z.object({
  id: z.number().int().min(0).optional(),
  conversation_message_id: z.number().int().min(0).optional(),
  peer_id: vkId.optional(),
  from_id: vkId.optional(),
  text: z.string().optional(),
});
export type VkForeignMessage = z.infer<typeof ForeignMessage>;

/** A message as message_new (object.message), message_reply and message_edit (object) carry it. */
export const VkMessage = z.object({
  id: z.number().int().min(0).optional(),
  /** Numbered per peer from 1; with peer_id it names the message in every event (see vkMessageId). */
  conversation_message_id: z.number().int().min(1),
  date: z.number().int().min(0).optional(),
  update_time: z.number().int().min(0).optional(),
  from_id: vkId,
  peer_id: vkId,
  out: z.number().int().optional(),
  text: z.string().max(1_000_000).default(''),
  random_id: z.number().int().optional(),
  admin_author_id: vkId.optional(),
  attachments: z.array(z.looseObject({ type: z.string() })).default([]),
  geo: z
    .object({
      coordinates: z.object({ latitude: z.number(), longitude: z.number() }).optional(),
      place: z
        .object({ title: z.string().optional(), address: z.string().optional(), city: z.string().optional() })
        .optional(),
    })
    .optional(),
  reply_message: ForeignMessage.optional(),
  fwd_messages: z.array(ForeignMessage).optional(),
  /** Transition-source parameters of the vk.me link the client came by (vk.me/club1?ref=...&ref_source=...). */
  ref: z.string().max(500).optional(),
  ref_source: z.string().max(500).optional(),
  payload: z.string().max(4_000).optional(),
});
export type VkMessage = z.infer<typeof VkMessage>;

/** message_new since API 5.103: the message plus what the client's app supports. */
export const MessageNewObject = z.object({
  message: VkMessage,
  client_info: z.looseObject({}).optional(),
});

/** message_read: the client read our messages up to conversation_message_id. */
export const MessageReadObject = z.object({
  from_id: vkId,
  peer_id: vkId,
  read_message_id: z.number().int().min(0).optional(),
  conversation_message_id: z.number().int().min(1),
});

export const MessageAllowObject = z.object({ user_id: vkId, key: z.string().optional() });
export const MessageDenyObject = z.object({ user_id: vkId });

/** Group chats are peers 2000000000 + chat id; users are positive ids below that, communities negative. */
export const CHAT_PEER_BASE = 2_000_000_000;
export const isUserPeer = (peerId: number) => peerId > 0 && peerId < CHAT_PEER_BASE;

/**
 * Our vendor id of a VK message: `<peer_id>_<conversation_message_id>`. It is what every event about the
 * message carries (message_new, message_edit, message_reply, message_read, reply_message) and what
 * messages.send answers with peer_ids, whereas the plain message id is 0 for bots in group chats and absent
 * from message_read's conversation-scoped view.
 */
export const vkMessageId = (peerId: number, conversationMessageId: number) =>
  `${peerId}_${conversationMessageId}`;

import { z } from 'zod';

/**
 * Viber REST bot API callbacks (developers.viber.com/docs/api/rest-bot-api, "Callbacks"), only the fields we
 * read. message_token is a 64-bit integer (4912661846655238145 in Viber's own examples), beyond 2^53: the body
 * is parsed with lib/json's parseJsonExact, which hands such numbers over as their exact digits, and tokens are
 * kept as strings from here on.
 */
const token = z.union([z.string().regex(/^\d{1,30}$/), z.number().int().min(0)]).transform(String);
const userId = z.string().min(1).max(200);

export const ViberEnvelope = z.object({
  event: z.string().min(1).max(100),
  /** Milliseconds since the epoch. */
  timestamp: z.number().int().min(0).optional(),
  message_token: token.optional(),
  chat_hostname: z.string().optional(),
});

const User = z.object({
  id: userId,
  name: z.string().max(1_000).optional(),
  avatar: z.string().optional(),
  /** ISO 3166 alpha-2 of the user's phone number. */
  country: z.string().optional(),
  language: z.string().optional(),
  api_version: z.number().optional(),
});

export const ViberMessageCallback = z.object({
  message_token: token,
  timestamp: z.number().int().min(0).optional(),
  sender: User,
  message: z.object({
    type: z.string().min(1).max(50),
    text: z.string().max(1_000_000).optional(),
    media: z.string().optional(),
    thumbnail: z.string().optional(),
    file_name: z.string().optional(),
    size: z.number().int().min(0).optional(),
    duration: z.number().min(0).optional(),
    sticker_id: z.union([z.number().int(), z.string()]).optional(),
    contact: z
      .object({
        name: z.string().optional(),
        phone_number: z.string().optional(),
        avatar: z.string().optional(),
      })
      .optional(),
    location: z.object({ lat: z.number(), lon: z.number(), address: z.string().optional() }).optional(),
    tracking_data: z.string().max(4_096).optional(),
  }),
  silent: z.boolean().optional(),
});
export type ViberMessageCallback = z.infer<typeof ViberMessageCallback>;

/** delivered / seen / failed: about a message we sent (message_token from send_message's answer). */
export const ViberReceipt = z.object({
  message_token: token,
  timestamp: z.number().int().min(0).optional(),
  user_id: userId,
  desc: z.string().max(2_000).optional(),
});
export type ViberReceipt = z.infer<typeof ViberReceipt>;

export const ViberSubscribed = z.object({ user: User });
export const ViberUnsubscribed = z.object({ user_id: userId });
export const ViberConversationStarted = z.object({
  user: User,
  type: z.string().optional(),
  context: z.string().optional(),
  subscribed: z.boolean().optional(),
});

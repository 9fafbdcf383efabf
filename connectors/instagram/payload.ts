import { z } from 'zod';

/**
 * The parts of an Instagram messaging webhook delivery the connector reads (Messenger Platform shape:
 * `object: "instagram"`, `entry[].messaging[]`). Loose objects: Meta adds fields, and an unknown one must never
 * fail a delivery; the whole delivery is validated before anything is published.
 */
const id = z.string().min(1).max(200);

const Attachment = z.looseObject({
  type: z.string().max(100),
  payload: z.looseObject({ url: z.string().max(2_000).optional(), title: z.string().optional() }).optional(),
});

export const MessagingEvent = z.looseObject({
  sender: z.looseObject({ id }).optional(),
  recipient: z.looseObject({ id }).optional(),
  /** Milliseconds since the epoch. */
  timestamp: z.union([z.number(), z.string()]).optional(),
  message: z
    .looseObject({
      mid: id,
      text: z.string().max(100_000).optional(),
      attachments: z.array(Attachment).max(50).optional(),
      is_echo: z.boolean().optional(),
      is_deleted: z.boolean().optional(),
      is_unsupported: z.boolean().optional(),
      quick_reply: z.looseObject({ payload: z.string().max(1_000) }).optional(),
      reply_to: z
        .looseObject({
          mid: id.optional(),
          story: z.looseObject({ id: z.string().optional(), url: z.string().optional() }).optional(),
        })
        .optional(),
    })
    .optional(),
  message_edit: z
    .looseObject({ mid: id, text: z.string().max(100_000).optional(), num_edit: z.number().int().optional() })
    .optional(),
  read: z.looseObject({ mid: id }).optional(),
  reaction: z.looseObject({}).optional(),
  postback: z
    .looseObject({
      mid: id.optional(),
      title: z.string().max(1_000).optional(),
      payload: z.string().max(1_000).optional(),
    })
    .optional(),
});

export const Envelope = z.looseObject({
  object: z.literal('instagram'),
  entry: z.array(
    z.looseObject({
      id: z.string().min(1).max(200),
      time: z.number().optional(),
      messaging: z.array(MessagingEvent).optional(),
      changes: z.array(z.looseObject({ field: z.string().optional() })).optional(),
    }),
  ),
});

export type IgEvent = z.infer<typeof MessagingEvent>;
export type IgAttachment = z.infer<typeof Attachment>;

import { z } from 'zod';

/**
 * The parts of a WhatsApp Cloud API webhook delivery the connector reads (Meta's "messages webhook reference").
 * Objects are loose: Meta adds fields over time, and an unknown field must never fail a delivery. A `messages`
 * change is validated as a whole before anything is published, so a malformed one is refused (400 naming the
 * field) without a partial write.
 */
const text = z.string().max(100_000);
const id = z.string().min(1).max(200);
const timestamp = z.union([z.string(), z.number()]).optional();

export const Envelope = z.looseObject({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(
    z.looseObject({
      id: z.string().optional(),
      changes: z.array(z.looseObject({ field: z.string().min(1), value: z.unknown() })),
    }),
  ),
});

const Media = z.looseObject({
  id,
  mime_type: z.string().max(200).optional(),
  sha256: z.string().optional(),
  caption: z.string().max(4_096).optional(),
  filename: z.string().max(1_000).optional(),
  /** audio: true for a voice note recorded in WhatsApp. */
  voice: z.boolean().optional(),
});

const SharedCard = z.looseObject({
  name: z.looseObject({ formatted_name: z.string().max(1_000).optional() }).optional(),
  phones: z
    .array(z.looseObject({ phone: z.string().max(100).optional(), wa_id: z.string().max(100).optional() }))
    .optional(),
});

export const Message = z.looseObject({
  /** The client's wa_id; Meta omits it for users known only by a business-scoped user id. */
  from: z.string().min(1).max(100).optional(),
  id,
  timestamp,
  type: z.string().min(1).max(100),
  context: z
    .looseObject({ id: id.optional(), from: z.string().optional(), forwarded: z.boolean().optional() })
    .optional(),
  text: z.looseObject({ body: text }).optional(),
  image: Media.optional(),
  document: Media.optional(),
  audio: Media.optional(),
  video: Media.optional(),
  sticker: Media.optional(),
  location: z
    .looseObject({
      latitude: z.number().min(-90).max(90),
      longitude: z.number().min(-180).max(180),
      name: z.string().max(1_000).optional(),
      address: z.string().max(1_000).optional(),
    })
    .optional(),
  interactive: z
    .looseObject({
      type: z.string().max(100),
      button_reply: z
        .looseObject({ id: z.string().max(1_000), title: z.string().max(1_000).optional() })
        .optional(),
      list_reply: z
        .looseObject({ id: z.string().max(1_000), title: z.string().max(1_000).optional() })
        .optional(),
    })
    .optional(),
  button: z
    .looseObject({ text: z.string().max(1_000).optional(), payload: z.string().max(1_000).optional() })
    .optional(),
  contacts: z.array(SharedCard).max(50).optional(),
  reaction: z.looseObject({ message_id: z.string().optional(), emoji: z.string().optional() }).optional(),
  referral: z.looseObject({}).optional(),
});

const StatusError = z.looseObject({
  code: z.union([z.number(), z.string()]).optional(),
  title: z.string().optional(),
  message: z.string().optional(),
  error_data: z.looseObject({ details: z.string().optional() }).optional(),
});

export const Status = z.looseObject({
  id,
  status: z.string().min(1).max(100),
  timestamp,
  recipient_id: z.string().max(100).optional(),
  recipient_type: z.string().optional(),
  errors: z.array(StatusError).optional(),
});

export const MessagesValue = z.looseObject({
  messaging_product: z.literal('whatsapp'),
  metadata: z.looseObject({
    phone_number_id: z.union([z.string(), z.number()]).transform(String),
    display_phone_number: z.union([z.string(), z.number()]).optional(),
  }),
  contacts: z
    .array(
      z.looseObject({
        wa_id: z.string().optional(),
        profile: z.looseObject({ name: z.string().optional() }).optional(),
      }),
    )
    .optional(),
  messages: z.array(Message).optional(),
  statuses: z.array(Status).optional(),
  errors: z.array(StatusError).optional(),
});

export type WaMessage = z.infer<typeof Message>;
export type WaStatus = z.infer<typeof Status>;
export type WaValue = z.infer<typeof MessagesValue>;
export type WaMedia = z.infer<typeof Media>;

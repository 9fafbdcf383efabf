import type { Database } from '../../crm-core/db/database.js';
import * as conv from '../../crm-core/repositories/conversation.repository.js';
import {
  type ClaimedReply,
  findReplyByKey,
  insertClaimedReply,
  lockReplyKey,
  type MessengerOutboxRow,
  type ReplyPayload,
  replyTarget,
} from '../../crm-core/repositories/messenger-outbox.repository.js';
import { AppError } from '../../lib/errors.js';
import { type AccountLookup, channelAccount } from './channel-account.js';

/** WhatsApp's customer-service window: free-form messages only within 24 h of the client's last message. */
export const WHATSAPP_WINDOW_MS = 24 * 3_600_000;

export interface MessengerReplyRequest extends ReplyPayload {
  conversationId: number;
  operatorId: number;
  idempotencyKey: string;
}

export type MessengerReplyResult =
  | { created: true; reply: ClaimedReply }
  | { created: false; reply: MessengerOutboxRow };

/**
 * An operator's reply in a conversation, recorded before anything is sent: the outbound message (pending) and its
 * outbox row, claimed by the caller, in one transaction; the conversation's wait is over (its activity completed),
 * in the same statement (insertClaimedReply).
 * Rules: something to send; the account still exists; WhatsApp outside the 24-hour window takes only a template
 * (409 WINDOW_CLOSED, rather than a vendor error later); a closed conversation is reopened unless the chat has
 * another open one (409). The same Idempotency-Key of the same operator answers with the first reply (never a
 * second message); with a different reply it is a 409.
 */
export async function createMessengerReply(
  db: Database,
  req: MessengerReplyRequest,
  opts: {
    leaseMs: number;
    now?: Date;
    /** The outbox's cached account look-up (MessengerOutbox.accountOf); read in the transaction if absent. */
    accountOf?: AccountLookup;
  },
): Promise<MessengerReplyResult> {
  const payload: ReplyPayload = {
    ...(req.text !== undefined ? { text: req.text } : {}),
    ...(req.attachments?.length ? { attachments: req.attachments } : {}),
    ...(req.template ? { template: req.template } : {}),
  };
  if (!payload.text && !payload.attachments && !payload.template) {
    throw new AppError('VALIDATION', 'text: a reply needs text, attachments or a template', {
      fields: ['text'],
    });
  }
  const now = opts.now ?? new Date();
  // A repeated request is found under the key's lock (no look-up before the transaction: replays are rare,
  // and every new reply would pay for that round trip).
  return db.transaction(async (tx) => {
    await lockReplyKey(tx, req.operatorId, req.idempotencyKey);
    const { conversation: c, keyUsed } = await replyTarget(
      tx,
      req.conversationId,
      req.operatorId,
      req.idempotencyKey,
    );
    if (keyUsed) {
      const again = (await findReplyByKey(tx, req.operatorId, req.idempotencyKey))!;
      return { created: false as const, reply: sameRequest(again, req, payload) };
    }
    if (!c)
      throw new AppError('NOT_FOUND', `id: conversation ${req.conversationId} not found`, { fields: ['id'] });
    const account = await (opts.accountOf ?? channelAccount)(tx, c.channel, c.account_key);
    if (!account) {
      throw new AppError(
        'UNPROCESSABLE',
        `id: the conversation's account ${c.account_key} no longer exists`,
        {
          fields: ['id'],
        },
      );
    }
    const lastInbound = c.last_inbound_at ? +new Date(c.last_inbound_at) : null;
    if (
      c.channel === 'whatsapp' &&
      !payload.template &&
      (lastInbound == null || now.getTime() - lastInbound > WHATSAPP_WINDOW_MS)
    ) {
      throw new AppError(
        'WINDOW_CLOSED',
        "template: the client's last WhatsApp message is more than 24 hours old; only an approved template may be sent",
        { fields: ['template'] },
      );
    }
    if (c.status === 'closed' && !(await conv.reopenConversation(tx, c.id))) {
      throw new AppError('CONFLICT', 'id: closed, and the chat has another open conversation: answer there', {
        fields: ['id'],
      });
    }
    const reply = await insertClaimedReply(
      tx,
      {
        conversationId: c.id,
        channel: c.channel,
        accountKey: c.account_key,
        chatId: c.chat_id,
        operatorId: req.operatorId,
        idempotencyKey: req.idempotencyKey,
        payload,
        at: now.toISOString(),
      },
      opts.leaseMs,
    );
    return { created: true as const, reply };
  });
}

function sameRequest(seen: MessengerOutboxRow, req: MessengerReplyRequest, payload: ReplyPayload) {
  if (seen.conversation_id !== req.conversationId || canonical(seen.payload) !== canonical(payload)) {
    throw new AppError('CONFLICT', 'idempotency-key: already used for a different reply', {
      fields: ['idempotency-key'],
    });
  }
  return seen;
}

/** JSON with sorted keys: jsonb does not keep the order a request used. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

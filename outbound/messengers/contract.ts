import type { MessengerAccountSettings, VendorApiUrls } from '../../channels/messengers.js';
import type { LivechatAccount } from '../../channels/widgets.js';
import type { Attachment } from '../../event/inbound-contact.js';
import type { Logger } from '../../lib/logger.js';
import type { RealtimeHub } from '../../realtime/hub.js';

/** What a reply can go out through: a messenger account, or a live-chat widget. */
export type SenderAccount = MessengerAccountSettings | LivechatAccount;
export type SenderVendor = SenderAccount['vendor'];

/**
 * The one contract every messenger's outbound side implements: send an operator's message to a chat, and fetch
 * a file a client sent (attachments travel as metadata; the file is fetched when an operator opens it). The
 * outbox (outbound/messengers/outbox.ts) calls send() after the message is recorded, retries what is retriable
 * and stores what the vendor answered.
 */
export interface OutgoingMessage {
  /** The conversation's chat: Telegram chat id, WhatsApp wa_id, VK peer_id, Viber user id, Instagram IGSID. */
  chatId: string;
  text?: string;
  attachments?: Pick<Attachment, 'kind' | 'url' | 'fileId' | 'name' | 'mimeType' | 'caption'>[];
  /** WhatsApp outside the 24-hour customer-service window: an approved template instead of free text. */
  template?: { name: string; language: string; parameters?: string[] };
  /**
   * Stable for one outbound message across every attempt (the outbox row's key). Vendors that deduplicate sends
   * get it (VK random_id is derived from it), so a retry after a lost answer is not a second message.
   */
  idempotencyKey: string;
  /** Our message row and its conversation (the live chat announces the message by its id). */
  messageId?: number;
  conversationId?: number;
  /** When it was written and by whom, where the request has them (the live chat shows them; vendors ignore them). */
  shown?: { sentAt: string; author?: string };
}

export interface SendResult {
  /** The vendor's id of the sent message: delivery statuses refer to it. */
  vendorMessageId: string;
  /** What the vendor answered, stored with the message for audit. */
  response?: unknown;
}

export interface FetchedFile {
  body: Buffer;
  mimeType?: string;
  name?: string;
}

/**
 * Why a vendor refused or failed a send. `retriable` says whether the outbox tries again (after retryAfterSec
 * when the vendor said so); the others are final and stored on the message as its failure.
 */
export const SEND_FAILURES = {
  rate_limited: {
    retriable: true,
    doc: 'The vendor asked us to slow down (HTTP 429, Telegram retry_after).',
  },
  unavailable: { retriable: true, doc: 'Network error, timeout or vendor 5xx.' },
  window_closed: {
    retriable: false,
    doc: 'Outside the 24-hour customer-service window (WhatsApp, Instagram): only a template may be sent.',
  },
  blocked: { retriable: false, doc: 'The client blocked the bot or unsubscribed.' },
  bad_recipient: { retriable: false, doc: 'The chat or user does not exist for this account.' },
  unauthorized: {
    retriable: false,
    doc: 'The account token was refused: an administrator must fix the account.',
  },
  rejected: { retriable: false, doc: 'The vendor refused the message itself (too long, bad file...).' },
} as const;
export type SendFailureReason = keyof typeof SEND_FAILURES;

export class VendorSendError extends Error {
  readonly retriable: boolean;
  constructor(
    readonly reason: SendFailureReason,
    message: string,
    readonly opts: { vendorCode?: string; retryAfterSec?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'VendorSendError';
    this.retriable = SEND_FAILURES[reason].retriable;
  }
}

export interface MessengerSender<A extends SenderAccount = SenderAccount> {
  readonly vendor: A['vendor'];
  /**
   * True when the vendor deduplicates sends by OutgoingMessage.idempotencyKey (VK random_id): an attempt cut
   * short after the request left (the process died) is then simply repeated. Otherwise such an attempt is not
   * repeated (it may have been delivered) and the message is marked failed with code `interrupted`.
   */
  readonly idempotent?: boolean;
  send(account: A, message: OutgoingMessage): Promise<SendResult>;
  fetchFile(account: A, attachment: Attachment): Promise<FetchedFile>;
}

export interface SenderDeps {
  urls: Readonly<VendorApiUrls>;
  logger: Logger;
  /** Per-request timeout in ms (default 10 s). */
  timeoutMs?: number;
  /** The real-time hub: the live chat delivers through it to the visitor's socket. */
  realtime?: RealtimeHub;
}

export type SenderFactory = (deps: SenderDeps) => MessengerSender;
export type SenderRegistry = Partial<Record<SenderVendor, SenderFactory>>;

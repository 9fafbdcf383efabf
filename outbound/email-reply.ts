import { convert } from 'html-to-text';
import { canonicalMessageId, messageIdList, ownMessageId } from '../channels/email/message-id.js';
import type { Database } from '../crm-core/db/database.js';
import {
  type ActivityRow,
  getActivity,
  type NewActivity,
  upsertActivities,
} from '../crm-core/repositories/activity.repository.js';
import { getMailbox } from '../crm-core/repositories/channel-settings.repository.js';
import { findIdentities } from '../crm-core/repositories/identity.repository.js';
import {
  type ClaimedOutboundEmail,
  findByIdempotencyKey,
  insertClaimedOutboundEmail,
  lockIdempotencyKey,
  type OutboundEmailRow,
} from '../crm-core/repositories/outbound-email.repository.js';
import { normaliseEmail } from '../event/identity.js';
import { AppError } from '../lib/errors.js';
import { composeMessage } from './compose.js';
import type { SmtpSettings } from './email-sender.js';

/**
 * An operator's email reply to an email activity: the rules. The reply becomes, in one transaction, an outbound
 * email activity on the original's owner (planned until sent) and an outbox row already claimed by the caller,
 * who then sends it (outbound/outbox-worker.ts). Nothing here talks to a mail server.
 *
 * Threading: Message-ID is ours (ownMessageId, so clients' answers thread back through activities.message_id),
 * In-Reply-To is the original's Message-ID, References the original's references (when stored; else its thread
 * root) followed by the original's Message-ID. The recipient is the original's Reply-To, else its From.
 */
export interface ReplyRequest {
  activityId: number;
  operatorId: number;
  text?: string;
  html?: string;
  /** Default: "Re: " + the original's subject. */
  subject?: string;
  /** Default: the original's Reply-To, else its From (for a reply to our own message: its recipients). */
  to?: string[];
  cc?: string[];
  /** Send even to an address marked bouncing, or in answer to an automatic message. */
  force?: boolean;
  idempotencyKey?: string;
}

export type ReplyResult =
  | { created: true; email: ClaimedOutboundEmail }
  | { created: false; email: OutboundEmailRow };

export interface ReplyDeps {
  /** Lease of the creator's claim: how long before the worker considers the request's attempt abandoned. */
  leaseMs: number;
  now?: () => Date;
}

/** References kept in a reply: the root and the most recent ones (RFC 5322 §3.6.4 allows trimming the middle). */
const MAX_REFERENCES = 20;

interface Address {
  address?: string;
  name?: string;
}
interface EmailDetails {
  meta?: { mailboxId?: number; from?: Address; replyTo?: Address[]; robot?: string };
  senderName?: string;
  thread?: { references?: string[] };
  outbound?: { mailboxId?: number; to?: string[]; cc?: string[] };
}

export async function createReply(db: Database, req: ReplyRequest, deps: ReplyDeps): Promise<ReplyResult> {
  const text = req.text?.trim() ? req.text : undefined;
  const html = req.html?.trim() ? req.html : undefined;
  if (!text && !html) {
    throw new AppError('VALIDATION', 'text: text or html is required', { fields: ['text'] });
  }
  // A repeated request is answered with what the first one did, whatever changed since (a bounce, new settings).
  if (req.idempotencyKey) {
    const seen = await findByIdempotencyKey(db, req.operatorId, req.idempotencyKey);
    if (seen) return { created: false, email: sameRequest(seen, req, text, html) };
  }

  const original = await getActivity(db, req.activityId);
  if (!original) {
    throw new AppError('NOT_FOUND', `id: there is no activity ${req.activityId}`, { fields: ['id'] });
  }
  if (original.type !== 'email') {
    throw new AppError('UNPROCESSABLE', `id: activity ${original.id} is a ${original.type}, not an email`, {
      fields: ['id'],
    });
  }
  const details = original.details as EmailDetails;
  if (details.meta?.robot && !req.force) {
    throw new AppError(
      'UNPROCESSABLE',
      `id: activity ${original.id} is an automatic message (${details.meta.robot}); send with force: true to answer it anyway`,
      { fields: ['id'] },
    );
  }
  const mailboxId = details.outbound?.mailboxId ?? details.meta?.mailboxId;
  const mailbox = typeof mailboxId === 'number' ? await getMailbox(db, mailboxId) : undefined;
  if (!mailbox) {
    throw new AppError(
      'UNPROCESSABLE',
      `id: the mailbox activity ${original.id} came through no longer exists`,
      {
        fields: ['id'],
      },
    );
  }
  const smtp = mailbox.smtp as SmtpSettings | undefined;
  if (!smtp?.host) {
    throw new AppError(
      'UNPROCESSABLE',
      `mailbox: "${mailbox.address}" has no SMTP settings; an administrator must add them`,
      {
        fields: ['mailbox.smtp'],
      },
    );
  }

  const to = recipients(req.to ?? defaultRecipients(original, details), 'to');
  const cc = recipients(req.cc ?? [], 'cc').filter((a) => !to.includes(a));
  if (to.length === 0) {
    throw new AppError(
      'UNPROCESSABLE',
      `to: activity ${original.id} has no sender address to answer; give "to"`,
      {
        fields: ['to'],
      },
    );
  }
  if (!req.force) {
    const bouncing = (
      await findIdentities(
        db,
        [...to, ...cc].map((a) => ({ kind: 'email', value: a })),
      )
    ).filter((i) => i.bouncing);
    if (bouncing.length) {
      const field = to.includes(bouncing[0]!.value) ? 'to' : 'cc';
      throw new AppError(
        'UNPROCESSABLE',
        `${field}: ${bouncing.map((b) => b.value).join(', ')} bounced earlier mail; send with force: true to try anyway`,
        { fields: [field] },
      );
    }
  }

  const now = deps.now?.() ?? new Date();
  const messageId = ownMessageId(mailbox.address);
  const parent = canonicalMessageId(original.message_id ?? undefined);
  const references = replyReferences(original, details, parent);
  const subject = req.subject?.trim() || replySubject(original, details);
  const raw = await composeMessage({
    from: { address: mailbox.address, name: mailbox.name },
    to,
    cc,
    subject,
    text,
    html,
    messageId,
    inReplyTo: parent,
    references,
    date: now,
  });

  return db.transaction(async (tx) => {
    if (req.idempotencyKey) {
      await lockIdempotencyKey(tx, req.operatorId, req.idempotencyKey);
      const seen = await findByIdempotencyKey(tx, req.operatorId, req.idempotencyKey);
      if (seen) return { created: false as const, email: sameRequest(seen, req, text, html) };
    }
    const [activityId] = await upsertActivities(tx, [
      {
        ownerType: original.owner_type as NewActivity['ownerType'],
        ownerId: original.owner_id,
        type: 'email',
        direction: 'outbound',
        state: 'planned',
        subject,
        body: (text ?? htmlText(html ?? '')).slice(0, 100_000),
        deadline: null,
        completedAt: null,
        responsibleId: req.operatorId,
        channel: 'email',
        sourceKey: mailbox.address,
        eventId: null,
        externalKey: `email-out:${messageId}`,
        messageId,
        threadRef: original.thread_ref ?? parent ?? messageId,
        details: {
          outbound: {
            status: 'sending',
            attempts: 1,
            mailboxId: mailbox.id,
            to,
            cc,
            replyToActivityId: original.id,
          },
          thread: { messageId, inReplyTo: parent, references },
          // No html here: meta.html of inbound mail is sanitised for the console; the operator's HTML is not.
          meta: { mailboxId: mailbox.id, from: { address: mailbox.address, name: mailbox.name } },
        },
        createdAt: now.toISOString(),
      },
    ]);
    const email = await insertClaimedOutboundEmail(
      tx,
      {
        activityId: activityId!,
        replyToActivityId: original.id,
        mailboxId: mailbox.id,
        operatorId: req.operatorId,
        idempotencyKey: req.idempotencyKey ?? null,
        messageId,
        fromAddress: mailbox.address,
        to,
        cc,
        subject,
        text: text ?? null,
        html: html ?? null,
        inReplyTo: parent ?? null,
        references,
        raw,
      },
      deps.leaseMs,
    );
    return { created: true as const, email };
  });
}

/** The key is only reusable for the same reply; the same key on a different one is the caller's bug. */
function sameRequest(
  seen: OutboundEmailRow,
  req: ReplyRequest,
  text: string | undefined,
  html: string | undefined,
): OutboundEmailRow {
  if (
    seen.reply_to_activity_id !== req.activityId ||
    (seen.text_body ?? undefined) !== text ||
    (seen.html_body ?? undefined) !== html
  ) {
    throw new AppError('CONFLICT', 'idempotency-key: already used for a different reply', {
      fields: ['idempotency-key'],
    });
  }
  return seen;
}

function defaultRecipients(original: ActivityRow, d: EmailDetails): string[] {
  if (original.direction === 'outbound') return d.outbound?.to ?? [];
  const address = d.meta?.replyTo?.[0]?.address ?? d.meta?.from?.address;
  return address ? [address] : [];
}

function recipients(list: string[], field: 'to' | 'cc'): string[] {
  const out: string[] = [];
  for (const raw of list) {
    const id = normaliseEmail(raw);
    if (!id.valid) {
      throw new AppError('UNPROCESSABLE', `${field}: "${raw}" is not a usable email address`, {
        fields: [field],
      });
    }
    if (!out.includes(id.value)) out.push(id.value);
  }
  return out;
}

/** The original's References (if the activity keeps them), else its thread root, then its own Message-ID. */
export function replyReferences(
  original: ActivityRow,
  d: EmailDetails,
  parent: string | undefined,
): string[] {
  const stored = messageIdList(d.thread?.references ?? []);
  const chain = stored.length ? stored : messageIdList(original.thread_ref ?? '');
  const all = messageIdList([...chain, ...(parent ? [parent] : [])]);
  return all.length > MAX_REFERENCES ? [all[0]!, ...all.slice(-(MAX_REFERENCES - 1))] : all;
}

/**
 * "Re: " + the original's subject, once. An email without a subject got the generated activity subject
 * "Email from <who>" (router/activity-kind.ts): that text is not the client's, so it is not quoted back.
 */
export function replySubject(original: ActivityRow, d: EmailDetails): string {
  const subject = original.subject?.trim() ?? '';
  const from = d.meta?.from?.address;
  const who = d.senderName ?? (from && !d.meta?.robot ? normaliseEmail(from).value : 'unknown');
  const generated = original.direction === 'inbound' && subject === `Email from ${who}`;
  if (!subject || generated) return 'Re:';
  return /^re\s*:/i.test(subject) ? subject : `Re: ${subject}`;
}

function htmlText(html: string): string {
  return convert(html.slice(0, 400_000), { wordwrap: false });
}

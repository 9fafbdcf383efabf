import MailComposer from 'nodemailer/lib/mail-composer';
import { OUTBOUND_HEADER } from '../channels/email/message-id.js';

/**
 * The complete message of an outbound email, composed once when the reply is accepted and stored with it: every
 * send attempt transmits these exact bytes and the Sent-folder copy is the same bytes, so a retry is the same
 * message (same Message-ID, same Date), which recipients' clients that de-duplicate by Message-ID show once.
 */
export interface OutboundMessage {
  from: { address: string; name?: string };
  to: string[];
  cc: string[];
  subject: string;
  text?: string;
  html?: string;
  /** Ours, from ownMessageId(): with angle brackets. */
  messageId: string;
  inReplyTo?: string;
  references: string[];
  date: Date;
}

export async function composeMessage(m: OutboundMessage): Promise<string> {
  const composer = new MailComposer({
    from: m.from,
    to: m.to,
    cc: m.cc.length ? m.cc : undefined,
    subject: m.subject,
    text: m.text,
    html: m.html,
    messageId: m.messageId,
    inReplyTo: m.inReplyTo,
    references: m.references.length ? m.references : undefined,
    date: m.date,
    // Our copies coming back through IMAP (Bcc to self, a server filing sent mail into INBOX) are recognised by
    // the email connector and not published as inbound contacts (connectors/email/message-id.ts).
    headers: { [OUTBOUND_HEADER]: '1' },
  });
  const raw = await composer.compile().build();
  // Non-ASCII text and headers are encoded (quoted-printable, base64, RFC 2047): the message is 7-bit text.
  return raw.toString('utf8');
}

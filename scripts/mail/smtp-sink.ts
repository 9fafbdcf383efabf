/**
 * Development/test SMTP listener: accepts any message on 127.0.0.1:$SMTP_PORT (no auth, no TLS) and APPENDs it
 * over IMAP into the recipient's Dovecot mailbox, so tests exercise the same path as real mail.
 * Started and stopped by scripts/dovecot.sh; reads its settings from the environment it sets.
 */
import { writeFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { type Delivery, readUsers, resolveRecipient, withDeliveryHeaders } from './recipients.js';

const SMTP_PORT = Number(process.env.SMTP_PORT ?? 10025);
const IMAP_PORT = Number(process.env.IMAP_PORT ?? 10143);
const PASSWD_FILE = process.env.PASSWD_FILE ?? '.run/dovecot/passwd';
const DEFAULT_USER = process.env.DEFAULT_USER ?? 'inbox@example.test';
const PID_FILE = process.env.PID_FILE;
const MAX_BYTES = 64 * 1024 * 1024;

const log = (msg: string, extra: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...extra }));

async function appendTo(d: Delivery, raw: Buffer): Promise<void> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: IMAP_PORT,
    secure: false,
    auth: { user: d.user, pass: d.password },
    logger: false,
  });
  await client.connect();
  try {
    if (d.folder !== 'INBOX') {
      // Created on first delivery; a concurrent delivery may have created it meanwhile, which is fine.
      await client.mailboxCreate(d.folder).catch(() => undefined);
    }
    await client.append(d.folder, raw);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

async function deliver(session: SMTPServerSession, raw: Buffer): Promise<void> {
  const users = readUsers(PASSWD_FILE); // re-read each time, so users added to the file need no restart
  const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  const seen = new Set<string>();
  for (const rcpt of session.envelope.rcptTo) {
    const d = resolveRecipient(rcpt.address, users, DEFAULT_USER);
    const key = `${d.user}/${d.folder}`;
    if (seen.has(key)) continue; // one copy per mailbox folder, like a real delivery agent
    seen.add(key);
    await appendTo(d, withDeliveryHeaders(raw, from, rcpt.address));
    log('delivered', { rcpt: rcpt.address, user: d.user, folder: d.folder, bytes: raw.length });
  }
}

function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

const server = new SMTPServer({
  name: 'smtp-sink.localhost',
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  size: MAX_BYTES,
  banner: 'contact-ingest test sink',
  // Any credentials are accepted: clients configured with auth still work against the sink.
  onAuth: (auth, _session, cb) => cb(null, { user: auth.username ?? 'anonymous' }),
  onData(stream, session, cb) {
    readAll(stream)
      .then(async (raw) => {
        if (stream.sizeExceeded) {
          const err = Object.assign(new Error('message too large'), { responseCode: 552 });
          return cb(err);
        }
        await deliver(session, raw);
        cb();
      })
      .catch((err: Error) => {
        log('delivery failed', { error: err.message });
        // 451: temporary, the client may retry (Dovecot restarting, say).
        cb(Object.assign(new Error(`delivery failed: ${err.message}`), { responseCode: 451 }));
      });
  },
});

server.on('error', (err) => log('server error', { error: err.message }));
server.listen(SMTP_PORT, '127.0.0.1', () => {
  if (PID_FILE) writeFileSync(PID_FILE, `${process.pid}\n`);
  log('listening', { port: SMTP_PORT, imapPort: IMAP_PORT, pid: process.pid });
});

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => server.close(() => process.exit(0)));
}

import type { ImapFlow } from 'imapflow';
import type { MailboxSettings } from '../../channels/settings.js';
import type { Logger } from '../../lib/logger.js';

/**
 * What the mailbox owner asked to happen to a message once it is published: nothing, \Seen, or a move.
 * Best effort: the cursor has already moved past these UIDs, so a failure here is logged and never re-reads
 * or re-publishes anything.
 */
export async function markProcessed(
  client: ImapFlow,
  uids: number[],
  processed: MailboxSettings['processed'],
  log: Logger,
): Promise<void> {
  if (!uids.length || processed.action === 'none') return;
  try {
    if (processed.action === 'seen') {
      await client.messageFlagsAdd(uids, ['\\Seen'], { uid: true });
      return;
    }
    let moved = await client.messageMove(uids, processed.folder, { uid: true });
    if (!moved) {
      // The target may not exist yet (a fresh mailbox): create it once and try again.
      await client.mailboxCreate(processed.folder).catch(() => undefined);
      moved = await client.messageMove(uids, processed.folder, { uid: true });
    }
    if (!moved)
      log.error({ folder: processed.folder, count: uids.length }, 'email: could not move processed messages');
  } catch (err) {
    log.error(
      { err, action: processed.action, count: uids.length },
      'email: marking processed messages failed',
    );
  }
}

import type { Connector, ConnectorContext } from '../contract.js';
import { kindLabel, parseAt } from '../meta/parse.js';
import { type MetaBatch, metaWebhook } from '../meta/webhook.js';
import { fieldError } from '../webhook-http.js';
import { mapMessagesChange } from './messages.js';
import { Envelope, MessagesValue, type WaValue } from './payload.js';

/** Message types whose content sits in a field named like the type; without it the message is malformed. */
const TYPED = ['text', 'image', 'document', 'audio', 'video', 'sticker', 'location', 'interactive', 'button'];

/**
 * WhatsApp Business Cloud API webhooks: POST (and the GET handshake) at /v1/messengers/whatsapp/<accountKey>.
 * Only `messages` changes for the account's own phone_number_id are read; changes for another number are
 * acknowledged and ignored (logged), other fields (account_update, message_template_status_update...) are
 * acknowledged and counted as unhandled. Every message and status of one delivery is published in one bus call.
 */
export function createWhatsAppConnector(ctx: ConnectorContext): Connector {
  const log = ctx.logger.child({ connector: 'whatsapp' });
  const plugin = metaWebhook(ctx, 'whatsapp', (account, body) => {
    const envelope = parseAt(Envelope, body, '');
    const batch: MetaBatch = { events: [], updates: [] };
    const now = new Date();
    // Validate the whole delivery first: a malformed change refuses all of it, before anything is published.
    const values: WaValue[] = [];
    envelope.entry.forEach((entry, i) => {
      entry.changes.forEach((change, j) => {
        const at = `entry.${i}.changes.${j}.value`;
        if (change.field !== 'messages') {
          batch.updates.push({ kind: kindLabel('field', change.field), outcome: 'unhandled' });
          return;
        }
        const value = parseAt(MessagesValue, change.value, at);
        value.messages?.forEach((m, k) => {
          if (TYPED.includes(m.type) && (m as Record<string, unknown>)[m.type] === undefined) {
            throw fieldError(`${at}.messages.${k}.${m.type}`, `is required for a message of type ${m.type}`);
          }
        });
        if (value.metadata.phone_number_id !== account.phoneNumberId) {
          log.warn(
            { account: account.key, phoneNumberId: value.metadata.phone_number_id },
            'change for another phone number id ignored (give each number its own callback URL)',
          );
          const n = (value.messages?.length ?? 0) + (value.statuses?.length ?? 0);
          for (let k = 0; k < Math.max(n, 1); k++)
            batch.updates.push({ kind: 'other_number', outcome: 'ignored' });
          return;
        }
        values.push(value);
      });
    });
    for (const value of values) {
      mapMessagesChange(value, { account, defaultCountry: ctx.config.defaultCountry, now }, batch);
    }
    return batch;
  });
  return { name: 'whatsapp', http: { prefix: '/v1/messengers/whatsapp', plugin } };
}

import type { Connector, ConnectorContext } from '../contract.js';
import { kindLabel, parseAt } from '../meta/parse.js';
import { type MetaBatch, metaWebhook } from '../meta/webhook.js';
import { mapMessagingEvent } from './messaging.js';
import { Envelope } from './payload.js';

/**
 * Instagram messaging webhooks (Messenger Platform shape, `X-Hub-Signature-256`): POST and the GET handshake at
 * /v1/messengers/instagram/<accountKey>. The client is known by their Instagram-scoped id (IGSID), identity kind
 * `instagram`. Events that name neither the account's igUserId nor come in its entry are ignored; `changes`
 * (comments, mentions) are acknowledged and counted as unhandled.
 */
export function createInstagramConnector(ctx: ConnectorContext): Connector {
  const plugin = metaWebhook(ctx, 'instagram', (account, body) => {
    const envelope = parseAt(Envelope, body, '');
    const batch: MetaBatch = { events: [], updates: [] };
    const now = new Date();
    for (const entry of envelope.entry) {
      for (const change of entry.changes ?? []) {
        batch.updates.push({ kind: kindLabel('field', change.field), outcome: 'unhandled' });
      }
      for (const e of entry.messaging ?? []) {
        mapMessagingEvent(
          e,
          { account, entryId: entry.id, defaultCountry: ctx.config.defaultCountry, now },
          batch,
        );
      }
    }
    return batch;
  });
  return { name: 'instagram', http: { prefix: '/v1/messengers/instagram', plugin } };
}

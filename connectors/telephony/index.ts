import type { FastifyPluginAsync } from 'fastify';
import type { Connector, ConnectorContext } from '../contract.js';
import { keepRawBodies, schemasAreDocs } from '../webhook-http.js';
import { bitrix24Adapter } from './bitrix24.adapter.js';
import { ctiAdapter } from './cti.adapter.js';
import { freeswitchAdapter } from './freeswitch.adapter.js';
import { genericAdapter } from './generic.adapter.js';
import { twilioAdapter } from './twilio.adapter.js';

/**
 * Telephony webhooks: one sub-plugin per vendor under /v1/telephony. Each authenticates against its line's
 * settings, reduces the vendor payload to a CallRecord (call-event.ts) and answers the vendor only after the
 * event is durable on the bus. See README.md for the URLs and settings a PBX administrator enters.
 */
export function createTelephonyConnector(ctx: ConnectorContext): Connector {
  const plugin: FastifyPluginAsync = async (app) => {
    keepRawBodies(app);
    schemasAreDocs(app);
    for (const adapter of [genericAdapter, twilioAdapter, freeswitchAdapter, ctiAdapter, bitrix24Adapter]) {
      await app.register(adapter(ctx));
    }
  };
  return { name: 'telephony', http: { prefix: '/v1/telephony', plugin } };
}

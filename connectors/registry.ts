import type { ConnectorContext, ConnectorFactory } from './contract.js';
import { createEmailConnector } from './email/connector.js';
import { createInstagramConnector } from './instagram/index.js';
import { createLivechatConnector } from './livechat/index.js';
import { createStoreConnector } from './store/index.js';
import { createTelegramConnector } from './telegram/index.js';
import { createTelephonyConnector } from './telephony/index.js';
import { createViberConnector } from './viber/index.js';
import { createVkConnector } from './vk/index.js';
import { createWebformConnector } from './webform/index.js';
import { createWhatsAppConnector } from './whatsapp/index.js';

/** Every channel connector the service runs. Adding a channel = a folder + one line here. */
export const CONNECTORS: Record<string, ConnectorFactory> = {
  webform: createWebformConnector,
  telephony: createTelephonyConnector,
  email: (ctx: ConnectorContext) => createEmailConnector(ctx),
  whatsapp: createWhatsAppConnector,
  instagram: createInstagramConnector,
  vk: createVkConnector,
  viber: createViberConnector,
  telegram: (ctx: ConnectorContext) => createTelegramConnector(ctx),
  store: createStoreConnector,
  livechat: (ctx: ConnectorContext) => createLivechatConnector(ctx),
};

export const createConnectors = (ctx: ConnectorContext) => Object.values(CONNECTORS).map((make) => make(ctx));

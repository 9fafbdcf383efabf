import type { FastifyPluginAsync } from 'fastify';
import type { Publisher } from '../bus/bus.js';
import type { VendorApiUrls } from '../channels/messengers.js';
import type { ChannelSettings, ClientDirectory, CursorStore } from '../channels/settings.js';
import type { LivechatReader } from '../channels/widgets.js';
import type { Logger } from '../lib/logger.js';
import type { RealtimeHub } from '../realtime/hub.js';

/**
 * The one contract every channel connector implements. A connector turns its channel's wire format into
 * InboundContact events (event/build.ts) and publishes them. It never writes CRM data: it may only read its
 * channel settings and keep its own cursors through the narrow interfaces below.
 */
export interface Connector {
  /** Short stable name: 'webform', 'telephony-generic', 'email'... used in logs and metrics. */
  readonly name: string;
  /** Webhook connectors: a Fastify plugin, registered by the composition root under `prefix`. */
  readonly http?: { prefix: string; plugin: FastifyPluginAsync };
  /** Pull connectors (IMAP, Telegram polling): background loops, started and stopped by the composition root. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** The part of the configuration connectors use; the composition root hands over only this. */
export interface ConnectorConfig {
  /** Country for phone numbers written without a country code (ISO 3166 alpha-2). */
  defaultCountry: string;
  /** Public base URL, where a vendor's signature covers the URL (Twilio). */
  publicUrl: string;
  /** Web-form submissions per client IP per minute. */
  formRateLimit: number;
  /** Vendors' API roots (Telegram polling and webhook registration call the vendor). */
  vendorApiUrls: Readonly<VendorApiUrls>;
  /** Take the client IP from X-Forwarded-For (the live chat's per-IP limits). */
  trustProxy?: boolean;
  /** Live-chat messages and contacts per visitor per minute (LIVECHAT_RATE_LIMIT). */
  livechatRateLimit?: number;
  /** Live-chat messages and contacts per IP address per minute (LIVECHAT_IP_RATE_LIMIT). */
  livechatIpRateLimit?: number;
}

export interface ConnectorContext {
  config: Readonly<ConnectorConfig>;
  logger: Logger;
  bus: Publisher;
  settings: ChannelSettings;
  cursors: CursorStore;
  /** Read-only "who is this caller?" for vendor protocols whose answer names the CRM entity (Bitrix24). */
  clients?: ClientDirectory;
  /** The live chat's read-only view: widgets, a visitor's history, whether operators are online. */
  livechat?: LivechatReader;
  /** Real-time notices (operators' replies and typing to visitors' sockets, visitors' typing to consoles). */
  realtime?: RealtimeHub;
  /**
   * Counts every vendor update a webhook or poller received, by what became of it. Vendors disable webhooks
   * that keep failing, so updates we do not handle are acknowledged; this is where they stay visible.
   */
  onUpdate?: (vendor: string, kind: string, outcome: UpdateOutcome) => void;
}

/**
 * published: became an event on the bus; acknowledged: a handshake or status we answered without an event;
 * ignored: understood and deliberately skipped (our own echoes, bots); unhandled: an update type we do not
 * handle; unauthorized: bad signature or secret; invalid: a malformed body.
 */
export const UPDATE_OUTCOMES = [
  'published',
  'acknowledged',
  'ignored',
  'unhandled',
  'unauthorized',
  'invalid',
] as const;
export type UpdateOutcome = (typeof UPDATE_OUTCOMES)[number];

export type ConnectorFactory = (ctx: ConnectorContext) => Connector;

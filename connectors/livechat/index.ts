import type { Connector, ConnectorContext } from '../contract.js';
import { attachLivechatSocket, LIVECHAT_DEFAULTS, type LivechatOptions } from './socket.js';
import { serveWidgetScript } from './widget-script.js';

/**
 * The website live chat: the visitor socket GET /v1/widget/ws and the widget's script GET /widget.js (README.md
 * in this folder). Visitors' messages and contacts become bus events (channel `webchat`); operators' replies come
 * back through the messenger outbox's live-chat sender and the real-time hub. A process without the hub or the
 * reader (a test of other connectors) runs without it.
 */
export function createLivechatConnector(
  ctx: ConnectorContext,
  options: Partial<LivechatOptions> = {},
): Connector {
  const { livechat: reader, realtime } = ctx;
  if (!reader || !realtime) return { name: 'livechat' };
  const o: LivechatOptions = {
    ...LIVECHAT_DEFAULTS,
    ...(ctx.config.livechatRateLimit !== undefined && { visitorPerMinute: ctx.config.livechatRateLimit }),
    ...(ctx.config.livechatIpRateLimit !== undefined && { ipPerMinute: ctx.config.livechatIpRateLimit }),
    ...options,
  };
  return {
    name: 'livechat',
    http: {
      prefix: '',
      plugin: async (app) => {
        serveWidgetScript(app);
        attachLivechatSocket(app, { ctx, reader, realtime, options: o });
      },
    },
  };
}

import type { TelegramAccount } from '../../channels/messengers.js';
import type { Connector, ConnectorContext } from '../contract.js';
import { superviseWorkers } from '../pull-workers.js';
import { resolveTelegramOptions, type TelegramConnectorOptions } from './options.js';
import { TelegramPoller } from './poller.js';
import { telegramWebhook } from './webhook.js';

export type TelegramConnector = Connector & Required<Pick<Connector, 'start' | 'stop' | 'http'>>;

/**
 * Telegram bots: webhook mode (POST /v1/messengers/telegram/<accountKey>) and long polling for accounts
 * with mode 'polling'. The account list is re-read every refreshIntervalMs: a polling account added starts
 * polling, one removed, deactivated or switched to webhook mode stops, and a changed one (new token) restarts.
 * See README.md in this folder for the mapping and what an administrator sets up.
 */
export function createTelegramConnector(
  ctx: ConnectorContext,
  options: TelegramConnectorOptions = {},
): TelegramConnector {
  const opts = resolveTelegramOptions(options);
  const log = ctx.logger.child({ connector: 'telegram' });
  const pollers = superviseWorkers<TelegramPoller>({
    log,
    what: 'telegram: cannot list accounts',
    refreshIntervalMs: opts.refreshIntervalMs,
    async wanted() {
      const accounts = (await ctx.settings.listMessengerAccounts()).filter(
        (a): a is TelegramAccount => a.vendor === 'telegram' && a.active && a.mode === 'polling',
      );
      return new Map(
        accounts.map((a) => [
          a.key,
          {
            fingerprint: JSON.stringify(a),
            create: () => new TelegramPoller(ctx, a, opts, log.child({ account: a.key })),
          },
        ]),
      );
    },
  });

  return {
    name: 'telegram',
    http: { prefix: '/v1/messengers/telegram', plugin: telegramWebhook(ctx) },
    start: pollers.start,
    stop: pollers.stop,
  };
}

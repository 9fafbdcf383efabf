import type { TelegramAccount } from '../../channels/messengers.js';
import type { Connector, ConnectorContext } from '../contract.js';
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
  const pollers = new Map<string, { fingerprint: string; poller: TelegramPoller }>();
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> = Promise.resolve();

  async function refresh(): Promise<void> {
    let wanted: TelegramAccount[];
    try {
      wanted = (await ctx.settings.listMessengerAccounts()).filter(
        (a): a is TelegramAccount => a.vendor === 'telegram' && a.active && a.mode === 'polling',
      );
    } catch (err) {
      // Settings unreachable (database restarting): keep the pollers we have and try again next tick.
      log.error({ err }, 'telegram: cannot list accounts');
      return;
    }
    const byKey = new Map(wanted.map((a) => [a.key, { account: a, fingerprint: JSON.stringify(a) }]));
    const stopping: Promise<void>[] = [];
    for (const [key, p] of pollers) {
      if (byKey.get(key)?.fingerprint === p.fingerprint) continue;
      pollers.delete(key);
      stopping.push(p.poller.stop());
    }
    await Promise.all(stopping);
    if (!running) return;
    for (const [key, w] of byKey) {
      if (pollers.has(key)) continue;
      const poller = new TelegramPoller(ctx, w.account, opts, log.child({ account: key }));
      pollers.set(key, { fingerprint: w.fingerprint, poller });
      poller.start();
    }
  }

  function schedule(): void {
    timer = setTimeout(() => {
      refreshing = refresh().finally(() => {
        if (running) schedule();
      });
    }, opts.refreshIntervalMs);
    timer.unref();
  }

  return {
    name: 'telegram',
    http: { prefix: '/v1/messengers/telegram', plugin: telegramWebhook(ctx) },
    async start() {
      if (running) return;
      running = true;
      refreshing = refresh();
      await refreshing;
      schedule();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await refreshing;
      const all = [...pollers.values()].map((p) => p.poller.stop());
      pollers.clear();
      await Promise.all(all);
    },
  };
}

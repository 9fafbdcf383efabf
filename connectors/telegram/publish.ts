import type { InboundContact } from '../../event/inbound-contact.js';
import { AppError, isAppError } from '../../lib/errors.js';
import type { ConnectorContext } from '../contract.js';

/** Sent when the bus gave no hint; Telegram redelivers a webhook update that was not answered 2xx. */
export const BUS_RETRY_AFTER_SEC = 5;

/** Resolves once the events are durable; anything else is BUS_UNAVAILABLE (503 + Retry-After). */
export async function publishEvents(ctx: ConnectorContext, events: InboundContact[]): Promise<void> {
  if (!events.length) return;
  try {
    await ctx.bus.publish(events);
  } catch (e) {
    if (isAppError(e) && e.code === 'BUS_UNAVAILABLE' && e.retryAfterSec !== undefined) throw e;
    throw new AppError('BUS_UNAVAILABLE', `bus did not take the update: ${(e as Error)?.message ?? e}`, {
      cause: e,
      retryAfterSec: BUS_RETRY_AFTER_SEC,
    });
  }
}

import type { Publisher } from '../../bus/bus.js';
import type { MessengerAccountSettings } from '../../channels/messengers.js';
import type {
  ChannelSettings,
  CursorStore,
  FormSettings,
  MailboxSettings,
  StoreSettings,
  TelephonyLineSettings,
} from '../../channels/settings.js';
import { type BusEvent, isInboundContact } from '../../event/bus-event.js';
import type { DeliveryStatus } from '../../event/delivery-status.js';
import type { InboundContact } from '../../event/inbound-contact.js';

/**
 * The connectors' narrow ports, for connector unit tests: a Publisher that records what it was given (or
 * fails as a down bus would) and a cursor store that keeps nothing. Integration tests use the real bus.
 */
export class RecordingPublisher implements Publisher {
  /** Inbound contacts published, in order. */
  readonly events: InboundContact[] = [];
  /** Delivery statuses published, in order. */
  readonly statuses: DeliveryStatus[] = [];
  /** When set, publish() rejects with it and records nothing. */
  failWith?: Error;
  async publish(events: BusEvent[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    for (const e of events) {
      if (isInboundContact(e)) this.events.push(e);
      else this.statuses.push(e);
    }
  }
}

/** Channel settings held in memory; tests change the arrays as an administrator would. */
export class MemoryChannelSettings implements ChannelSettings {
  forms: FormSettings[] = [];
  lines: TelephonyLineSettings[] = [];
  mailboxes: MailboxSettings[] = [];
  accounts: MessengerAccountSettings[] = [];
  stores: StoreSettings[] = [];
  /** Every form and line key looked up, in order (to show which requests reach the settings at all). */
  readonly lookups: string[] = [];
  constructor(
    init: Partial<Pick<MemoryChannelSettings, 'forms' | 'lines' | 'mailboxes' | 'accounts' | 'stores'>> = {},
  ) {
    Object.assign(this, init);
  }
  async getForm(key: string) {
    this.lookups.push(key);
    return structuredClone(this.forms.find((f) => f.key === key));
  }
  async getTelephonyLine(key: string) {
    this.lookups.push(key);
    return structuredClone(this.lines.find((l) => l.key === key));
  }
  async listMailboxes() {
    return structuredClone(this.mailboxes.filter((m) => m.active));
  }
  async getMessengerAccount(key: string) {
    this.lookups.push(key);
    return structuredClone(this.accounts.find((a) => a.key === key));
  }
  async listMessengerAccounts() {
    return structuredClone(this.accounts);
  }
  async getStore(key: string) {
    return structuredClone(this.stores.find((s) => s.key === key));
  }
}

export const noCursors: CursorStore = { get: async () => undefined, set: async () => {} };

import type { Publisher } from '../../bus/bus.js';
import type { CursorStore } from '../../channels/settings.js';
import type { InboundContact } from '../../event/inbound-contact.js';

/**
 * The connectors' narrow ports, for connector unit tests: a Publisher that records what it was given (or
 * fails as a down bus would) and a cursor store that keeps nothing. Integration tests use the real bus.
 */
export class RecordingPublisher implements Publisher {
  readonly events: InboundContact[] = [];
  /** When set, publish() rejects with it and records nothing. */
  failWith?: Error;
  async publish(events: InboundContact[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.events.push(...events);
  }
}

export const noCursors: CursorStore = { get: async () => undefined, set: async () => {} };

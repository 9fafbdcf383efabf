import type { InboundContact } from '../event/inbound-contact.js';

/**
 * Email threading rules of the router. A message joins the owner of the nearest message of its thread that we
 * know: one stored (received or sent, found by activities.message_id) or one routed earlier in the same batch.
 */

export function bounceOf(
  e: InboundContact,
): { recipients: string[]; originalMessageId?: string } | undefined {
  const b = e.meta?.bounce as { recipients?: unknown; originalMessageId?: unknown } | undefined;
  if (!b || !Array.isArray(b.recipients)) return undefined;
  return {
    recipients: b.recipients.filter((r): r is string => typeof r === 'string'),
    originalMessageId: typeof b.originalMessageId === 'string' ? b.originalMessageId : undefined,
  };
}

/**
 * The Message-IDs a message points at, nearest first: for a bounce the message it reports on (whatever its own
 * headers say), then In-Reply-To, then References from the last (the parent) to the first (the root).
 */
export function threadParents(e: InboundContact): string[] {
  const t = e.thread;
  return [bounceOf(e)?.originalMessageId, t?.inReplyTo, ...(t?.references ?? []).slice().reverse()].filter(
    (x): x is string => !!x,
  );
}

/**
 * The batch in its order, except that a message moves before the replies of the same batch that point at it.
 * A mailbox's first sync, or mail that queued while the service was down, brings a message and its answers
 * together, and not always in that order (they come from different senders, so from different partitions);
 * routed parent first, each answer finds its thread the way it would have in separate batches.
 */
export function parentsFirst(events: InboundContact[]): InboundContact[] {
  const byMessageId = new Map<string, number>();
  events.forEach((e, i) => {
    const id = e.thread?.messageId;
    if (id && !byMessageId.has(id)) byMessageId.set(id, i);
  });
  if (byMessageId.size === 0) return events;
  const out: InboundContact[] = [];
  const seen = new Set<number>();
  // Iterative depth-first walk (a long reply chain must not exhaust the stack); `seen` cuts reference loops.
  const stack: { i: number; parents: number[] }[] = [];
  const enter = (i: number) => {
    seen.add(i);
    const parents = threadParents(events[i]!)
      .map((id) => byMessageId.get(id))
      .filter((p): p is number => p !== undefined && !seen.has(p));
    stack.push({ i, parents });
  };
  for (let start = 0; start < events.length; start++) {
    if (!seen.has(start)) enter(start);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = top.parents.pop();
      if (next === undefined) {
        out.push(events[top.i]!);
        stack.pop();
      } else if (!seen.has(next)) enter(next);
    }
  }
  return out;
}

/** A message we know: where its activity went (null: the queue) and the thread it belongs to. */
export interface KnownMessage<T> {
  target: T | null;
  threadRef: string | null;
}

/** Messages of the database (by Message-ID) and of the batch so far, for threading the next message. */
export class MessageIndex<T> {
  private readonly batch = new Map<string, KnownMessage<T>>();
  constructor(private readonly stored: Map<string, KnownMessage<T>>) {}

  get(messageId: string): KnownMessage<T> | undefined {
    return this.stored.get(messageId) ?? this.batch.get(messageId);
  }

  /** The owner of the nearest message of e's thread that went to an owner (a queued one is skipped). */
  ownerOf(e: InboundContact): T | undefined {
    for (const id of threadParents(e)) {
      const target = this.get(id)?.target;
      if (target) return target;
    }
    return undefined;
  }

  /**
   * The thread e's activity belongs to: a bounce joins the thread of the message it reports on (that message's
   * thread, else its Message-ID); any other message keeps the root its own headers name.
   */
  threadRefOf(e: InboundContact): string | null {
    const bounced = bounceOf(e)?.originalMessageId;
    if (bounced) return this.get(bounced)?.threadRef ?? bounced;
    return e.thread?.ref ?? null;
  }

  remember(messageId: string | undefined, known: KnownMessage<T>): void {
    if (messageId && !this.get(messageId)) this.batch.set(messageId, known);
  }
}

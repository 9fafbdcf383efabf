import type { InboundContact } from '../event/inbound-contact.js';

/** Which CRM activity type an inbound contact becomes. */
export function activityType(e: InboundContact): 'call' | 'email' | 'message' | 'form' {
  if (e.kind === 'call') return 'call';
  if (e.kind === 'form') return 'form';
  return e.channel === 'email' ? 'email' : 'message';
}

export function activitySubject(e: InboundContact): string {
  if (e.content.subject) return e.content.subject;
  const who = e.sender.name ?? e.sender.identities[0]?.value ?? 'unknown';
  switch (activityType(e)) {
    case 'call':
      return `${e.direction === 'inbound' ? 'Inbound' : 'Outbound'} call ${e.direction === 'inbound' ? 'from' : 'to'} ${who}`;
    case 'form':
      return `Form "${e.source.name ?? e.source.key}" from ${who}`;
    case 'email':
      return `Email from ${who}`;
    default:
      return `${e.channel} message from ${who}`;
  }
}

export function leadTitle(e: InboundContact): string {
  const who = e.sender.name ?? shownIdentity(e) ?? 'unknown';
  return `${who} — ${e.channel} / ${e.source.name ?? e.source.key}`;
}

/** The sender's first identity as a person reads it: a website visitor's id is a hash that tells nobody anything. */
export function shownIdentity(e: InboundContact): string | undefined {
  const first = e.sender.identities[0];
  return first?.kind === 'webchat' ? 'website visitor' : first?.value;
}

import { type HeaderLines, hasHeader, headerValue } from './headers.js';

/**
 * Mail written by machines. Such a message is still recorded (a bounce tells an operator that a reply never
 * arrived), but its sender is not a client: no lead may be created from it, and replying to it risks a loop.
 * Signals follow RFC 3834 (Auto-Submitted), RFC 3464 (DSN), RFC 2369/2919 (List-*) and the de-facto
 * headers of Exchange, Exim and the like. The first matching rule wins, most specific first.
 */
export type RobotKind = 'auto-reply' | 'bounce' | 'list' | 'bulk';

export interface RobotVerdict {
  kind: RobotKind;
  /** The header that decided, for support questions ("why was this not a lead?"). */
  reason: string;
}

export interface RobotFacts {
  headerLines: HeaderLines;
  /** The sender address from From, to recognise MAILER-DAEMON and postmaster. */
  fromAddress?: string;
}

const DAEMON = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@/i;

export function classifyRobot(f: RobotFacts): RobotVerdict | undefined {
  const h = (name: string) => headerValue(f.headerLines, name);
  const contentType = (h('content-type') ?? '').toLowerCase();
  const nullSender = isNullReturnPath(h('return-path'));

  if (/^multipart\/report\b/.test(contentType) && /report-type\s*=\s*"?delivery-status/.test(contentType)) {
    return { kind: 'bounce', reason: 'content-type: multipart/report; report-type=delivery-status' };
  }
  if (hasHeader(f.headerLines, 'x-failed-recipients'))
    return { kind: 'bounce', reason: 'x-failed-recipients' };
  if (nullSender && f.fromAddress && DAEMON.test(f.fromAddress)) {
    return { kind: 'bounce', reason: 'return-path: <> from a mailer daemon' };
  }

  const autoSubmitted = h('auto-submitted')
    ?.toLowerCase()
    .split(/[;\s(]/)[0];
  if (autoSubmitted && autoSubmitted !== 'no')
    return { kind: 'auto-reply', reason: `auto-submitted: ${autoSubmitted}` };
  for (const name of ['x-autoreply', 'x-autorespond', 'x-autoresponse', 'x-auto-response']) {
    const v = h(name);
    if (v !== undefined && !/^(no|false|0)$/i.test(v)) return { kind: 'auto-reply', reason: name };
  }
  const precedence = h('precedence')?.toLowerCase().trim();
  if (precedence === 'auto_reply') return { kind: 'auto-reply', reason: 'precedence: auto_reply' };
  // Exchange stamps its own automatic mail (out-of-office, meeting notices) with this header.
  if (hasHeader(f.headerLines, 'x-auto-response-suppress')) {
    return { kind: 'auto-reply', reason: 'x-auto-response-suppress' };
  }
  if (nullSender) return { kind: 'auto-reply', reason: 'return-path: <>' };

  // A list post is written by a person, but to the list: the list address is not a client either.
  if (hasHeader(f.headerLines, 'list-id')) return { kind: 'list', reason: 'list-id' };
  if (precedence === 'list') return { kind: 'list', reason: 'precedence: list' };
  if (precedence === 'bulk' || precedence === 'junk')
    return { kind: 'bulk', reason: `precedence: ${precedence}` };
  // Newsletters carry List-Unsubscribe without being a discussion list.
  if (hasHeader(f.headerLines, 'list-unsubscribe')) return { kind: 'bulk', reason: 'list-unsubscribe' };
  return undefined;
}

/** `Return-Path: <>` is the null reverse-path (RFC 5321 §4.5.5): bounces and auto-replies are sent with it. */
export function isNullReturnPath(value: string | undefined): boolean {
  return value !== undefined && /^<\s*>$/.test(value.trim());
}

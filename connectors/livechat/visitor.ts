import { createHash, randomBytes } from 'node:crypto';

/**
 * The visitor's identity. The token (32 random bytes, base64url) is the visitor's secret: the widget keeps it in
 * localStorage and presents it on every connection, which gives one identity across pages and visits. The CRM
 * never stores it: the visitor id (chat id, identity value, hub topic) is a hash of the widget key and the
 * token, so someone who reads the database or an operator's screen still cannot pose as the visitor.
 */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export const isVisitorToken = (t: unknown): t is string => typeof t === 'string' && TOKEN.test(t);

export const newVisitorToken = (): string => randomBytes(32).toString('base64url');

/** 132 bits of the hash: unique across widgets and visitors, short enough for keys and topics. */
export const visitorIdOf = (widgetKey: string, token: string): string =>
  createHash('sha256').update(`livechat-visitor\0${widgetKey}\0${token}`).digest('base64url').slice(0, 22);

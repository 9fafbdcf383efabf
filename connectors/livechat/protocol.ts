/**
 * The visitor socket's frames (CONSOLE-PROTOCOL.md, "Visitor widget socket"), shared by the server
 * (connectors/livechat) and the widget (widget/): types only, so the widget's bundle takes nothing from here.
 *
 * GET /v1/widget/ws?widget=KEY&visitor=TOKEN&after=LAST_ID&page=URL&referrer=URL
 * `page` and `referrer` (the page the widget runs on and how the visitor got there) become the lead's source.
 */
import type { LivechatMessage, PreChatField, WidgetLanguage, WidgetTexts } from '../../channels/widgets.js';

export type { LivechatMessage };

/** What the widget needs to draw itself; the widget's settings minus everything internal. */
export interface WidgetConfig {
  colors: { primary?: string; text?: string };
  texts: Partial<Record<WidgetLanguage, WidgetTexts>>;
  preChat: { fields: PreChatField[]; required: PreChatField[] };
}

export type ServerFrame =
  | {
      type: 'hello';
      /** The visitor token to keep (a new one when none or a malformed one was given). */
      visitor: string;
      history: LivechatMessage[];
      /** Is an operator online to answer now? If not the widget asks for a contact with the message. */
      online: boolean;
      config: WidgetConfig;
    }
  | { type: 'message'; message: LivechatMessage | (Omit<LivechatMessage, 'id'> & { id?: undefined }) }
  | { type: 'typing' }
  /** The operator has read the visitor's messages up to this id (shown live; not kept for a later visit). */
  | { type: 'read'; upTo: number }
  /** Whether an operator is online changed since hello (the first came, or the last left). */
  | { type: 'online'; online: boolean }
  /** The message (or contact) with this clientId is durable; `id` once it is stored (the embedded default). */
  | { type: 'ack'; clientId: string; id?: number }
  /**
   * `field`: the frame's field at fault (VALIDATION), or the pre-chat field the widget requires before the first
   * message (PRE_CHAT_REQUIRED: the message was not taken; send a contact with the field, then the message again).
   */
  | {
      type: 'error';
      code: string;
      message: string;
      clientId?: string;
      field?: string;
      retryAfterSec?: number;
    }
  | { type: 'pong' };

export type VisitorFrame =
  | { type: 'message'; clientId: string; text: string }
  | { type: 'contact'; clientId?: string; name?: string; phone?: string; email?: string }
  | { type: 'typing' }
  /** The visitor has seen the operator's replies up to this message id (the chat open, the page visible). */
  | { type: 'read'; upTo: number }
  | { type: 'ping' };

/** Close codes: the widget reconnects after any other close, never after these. */
export const CLOSE = {
  /** The page's origin is not one of the widget's allowed origins. */
  forbidden: 4403,
  /** No such widget, or it is switched off. */
  unknownWidget: 4404,
  /** Too many connections from this address; the widget waits a minute. */
  rateLimited: 4429,
  going: 1001,
} as const;

export const WIDGET_WS_PATH = '/v1/widget/ws';

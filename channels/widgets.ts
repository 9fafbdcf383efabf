/**
 * Website live-chat widgets, as every layer sees them: the admin API writes them (/v1/admin/widgets), crm-core
 * stores them (table widgets), the visitor socket (connectors/livechat) checks origins and answers with their
 * look, and the live-chat sender (outbound/messengers) delivers operators' replies through them. A widget is the
 * live chat's channel account: its key is the conversations' account key (channel `webchat`), a visitor the chat.
 */
export const LIVECHAT_CHANNEL = 'webchat' as const;
export const WIDGET_LANGUAGES = ['ru', 'en'] as const;
export type WidgetLanguage = (typeof WIDGET_LANGUAGES)[number];
export const PRE_CHAT_FIELDS = ['name', 'phone', 'email'] as const;
export type PreChatField = (typeof PRE_CHAT_FIELDS)[number];
export const WIDGET_TEXT_KEYS = ['title', 'greeting', 'offline', 'placeholder', 'preChatIntro'] as const;
export type WidgetTexts = Partial<Record<(typeof WIDGET_TEXT_KEYS)[number], string>>;

export interface WidgetSettings {
  key: string;
  name: string;
  /** Origins (`https://shop.example`) whose pages may open the visitor socket; `*` allows any. */
  allowedOrigins: string[];
  /** `#rrggbb`: primary (launcher, header, the visitor's bubbles) and the text drawn on it. */
  colors: { primary?: string; text?: string };
  texts: Partial<Record<WidgetLanguage, WidgetTexts>>;
  /** The pre-chat form: which fields are asked, and which of them must be filled before the first message. */
  preChat: { fields: PreChatField[]; required: PreChatField[] };
  /** Lead source label of visitors who first write here. */
  source?: string;
  /** Region of visitors who first write here. */
  regionId?: number;
  active: boolean;
}

/**
 * The longest message text a live-chat notice carries whole (a visitor's message to their other tabs, an
 * operator's reply to the visitor): PostgreSQL's NOTIFY takes 8,000 bytes with the notice's JSON; a longer text
 * is read by its id.
 */
export const NOTICE_TEXT_MAX = 6_000;

/** One message as the visitor sees it (never the operator's internal data). */
export interface LivechatMessage {
  id: number;
  /** The visitor's own id for a message they sent (resends with it are one message). */
  clientId?: string;
  direction: 'in' | 'out';
  text: string;
  sentAt: string;
  /** The operator's name, for their messages. */
  author?: string;
}

/**
 * What the visitor socket may read of the CRM (crm-core implements it): the widget, the visitor's history and
 * whether anyone is there to answer. The connector writes nothing: messages travel as bus events.
 */
export interface LivechatReader {
  /** Cached for a few seconds like other channel settings: every connection asks. */
  getWidget(key: string): Promise<WidgetSettings | undefined>;
  /**
   * The visitor's messages across their conversations, in id order: those after `after` plus the newest
   * `overlap` ones (a message committed late with a lower id is not skipped; the widget drops what it has).
   */
  history(
    widgetKey: string,
    visitorId: string,
    opts: { after?: number; limit: number; overlap?: number },
  ): Promise<{ message: LivechatMessage; status: string | null }[]>;
  /** One message of this visitor (an operator's reply announced by the hub) with its delivery status, or undefined. */
  message(
    widgetKey: string,
    visitorId: string,
    id: number,
  ): Promise<{ message: LivechatMessage; status: string | null } | undefined>;
  /** The stored id of the visitor's message with this vendor message id, once routed. */
  messageId(widgetKey: string, vendorMessageId: string): Promise<number | undefined>;
  /** The visitor's latest conversation, the open one first (typing notices travel on its topic). */
  conversation(widgetKey: string, visitorId: string): Promise<{ id: number; open: boolean } | undefined>;
  /** Is an operator online who would get this widget's chats (its region's, or anyone's without one)? */
  operatorsOnline(regionId: number | undefined): Promise<boolean>;
  /**
   * Which pre-chat fields the CRM already has for the visitor's client (a name, a phone, an email), given in an
   * earlier visit or known before: a required field on file need not be asked again.
   */
  visitorContact(visitorId: string): Promise<PreChatField[]>;
}

/** The hub topic of one visitor (all their tabs), as CONSOLE-PROTOCOL.md names it. */
export const visitorTopic = (widgetKey: string, visitorId: string) => `visitor:${widgetKey}:${visitorId}`;

/** The vendor message id the live-chat sender gives an operator's reply: delivery statuses refer to it. */
export const livechatOutboundId = (messageId: number) => `out:${messageId}`;

/** A widget as the messenger outbox sees it: the account replies go out through (outbound/messengers). */
export interface LivechatAccount {
  vendor: 'livechat';
  key: string;
  name: string;
  active: boolean;
}

export const livechatAccount = (w: WidgetSettings): LivechatAccount => ({
  vendor: 'livechat',
  key: w.key,
  name: w.name,
  active: w.active,
});

import type { FastifyInstance } from 'fastify';
import {
  PRE_CHAT_FIELDS,
  WIDGET_LANGUAGES,
  WIDGET_TEXT_KEYS,
  type WidgetSettings,
} from '../../channels/widgets.js';
import * as repo from '../../crm-core/repositories/widget.repository.js';
import { AppError } from '../../lib/errors.js';
import type { RouteContext } from './context.js';
import { registerKeyedResource } from './keyed-resource.js';
import * as s from './schemas.js';

/** An origin as browsers send it (scheme, host, optional port), or `*`. */
const ORIGIN = '^(\\*|https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?)$';
const COLOR = { type: 'string', pattern: '^#[0-9a-fA-F]{6}$' };
/** propertyNames makes a mistyped key a 400 naming it; additionalProperties:false alone would drop it silently. */
const strictObject = (names: readonly string[], value: object) => ({
  type: 'object',
  propertyNames: { enum: [...names] },
  additionalProperties: value,
});
const preChatList = {
  type: 'array',
  items: { type: 'string', enum: [...PRE_CHAT_FIELDS] },
  uniqueItems: true,
};

const fields = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  allowedOrigins: {
    type: 'array',
    items: { type: 'string', pattern: ORIGIN },
    minItems: 1,
    maxItems: 200,
    description: 'Origins of the pages that may show the widget (https://shop.example), or "*"',
  },
  colors: strictObject(['primary', 'text'], COLOR),
  texts: strictObject(
    WIDGET_LANGUAGES,
    strictObject(WIDGET_TEXT_KEYS, { type: 'string', minLength: 1, maxLength: 500 }),
  ),
  preChat: {
    ...s.body({ fields: preChatList, required: preChatList }),
    description: 'Fields of the pre-chat form (name, phone, email) and which of them are required',
  },
  source: { type: 'string', minLength: 1, maxLength: 200 },
  regionId: { ...s.id, nullable: true },
  active: { type: 'boolean', default: true },
};
const widget = s.obj({
  key: s.str,
  name: s.str,
  allowedOrigins: { type: 'array', items: s.str },
  colors: s.anyObject,
  texts: s.anyObject,
  preChat: s.anyObject,
  source: s.nstr,
  regionId: s.nint,
  active: s.bool,
  embed: { type: 'string', description: 'The <script> tag to put on the pages' },
});

type Body = Omit<WidgetSettings, 'key' | 'source' | 'regionId' | 'preChat' | 'colors' | 'texts'> & {
  colors?: WidgetSettings['colors'];
  texts?: WidgetSettings['texts'];
  preChat?: Partial<WidgetSettings['preChat']>;
  source?: string;
  regionId?: number | null;
};

/** The widget from a PUT body: every required pre-chat field must be one that is asked. */
export function widgetFromBody(key: string, b: Body): WidgetSettings {
  const preChat = { fields: b.preChat?.fields ?? [], required: b.preChat?.required ?? [] };
  const notAsked = preChat.required.filter((f) => !preChat.fields.includes(f));
  if (notAsked.length) {
    throw new AppError(
      'VALIDATION',
      `preChat.required: ${notAsked.join(', ')} must also be in preChat.fields to be required`,
      { fields: ['preChat.required'] },
    );
  }
  return {
    key,
    name: b.name,
    allowedOrigins: b.allowedOrigins,
    colors: b.colors ?? {},
    texts: b.texts ?? {},
    preChat,
    ...(b.source != null ? { source: b.source } : {}),
    ...(b.regionId != null ? { regionId: b.regionId } : {}),
    active: b.active ?? true,
  };
}

/**
 * Live-chat widgets (admin only), keyed by the key the page's <script data-widget="KEY"> names, so PUT is an
 * upsert (201 when it created). The visitor socket reads widgets through a cache of a few seconds.
 */
export function adminWidgetRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const onRequest = ctx.auth.requireAdmin;
  const db = ctx.db;
  const base = (ctx.config.publicUrl ?? '').replace(/\/+$/, '');
  const present = (w: WidgetSettings) => ({
    ...w,
    source: w.source ?? null,
    regionId: w.regionId ?? null,
    embed: `<script src="${base}/widget.js" data-widget="${w.key}" async></script>`,
  });
  registerKeyedResource<WidgetSettings, Body>(app, {
    path: '/v1/admin/widgets',
    tag: 'admin: widgets',
    noun: 'widget',
    onRequest,
    errors: [403],
    item: widget,
    body: s.body(fields, ['name', 'allowedOrigins']),
    summaries: {
      list: 'List live-chat widgets',
      get: 'One live-chat widget',
      put: 'Create or replace a live-chat widget',
      delete: 'Delete a live-chat widget',
    },
    putDescription:
      'allowedOrigins: the pages that may open the chat; colors {primary, text} as #rrggbb; texts per ' +
      'language (ru, en): title, greeting, offline, placeholder, preChatIntro; preChat {fields, required} ' +
      'from name, phone, email; source and regionId for the leads it brings. The answer has the embed tag.',
    list: () => repo.listWidgets(db),
    get: (key) => repo.getWidget(db, key),
    save: (key, b) => repo.upsertWidget(db, widgetFromBody(key, b)),
    remove: (key) => repo.deleteWidget(db, key),
    present,
  });
}

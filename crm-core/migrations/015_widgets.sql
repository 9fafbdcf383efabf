-- crm-core schema v15: website live-chat widgets (channels/widgets.ts) and the visitor's history look-up.
-- A widget is the live chat's channel account: its key is the conversations' account_key (channel 'webchat'),
-- a visitor's id is the chat id. Rules: connectors/livechat (visitor socket), outbound/messengers/livechat.sender.ts.

CREATE TABLE widgets (
  key              text PRIMARY KEY,
  name             text NOT NULL,
  -- origins (scheme://host[:port]) whose pages may open the visitor socket; '*' allows any
  allowed_origins  text[] NOT NULL DEFAULT '{}',
  -- {primary, text}: #rrggbb colours of the launcher, header and the visitor's bubbles
  colors           jsonb NOT NULL DEFAULT '{}',
  -- {ru: {title, greeting, offline, placeholder}, en: {...}}: what the widget says, per language
  texts            jsonb NOT NULL DEFAULT '{}',
  -- {fields: [name|phone|email...], required: [...]}: the pre-chat form
  pre_chat         jsonb NOT NULL DEFAULT '{"fields": [], "required": []}',
  source           text,
  region_id        integer REFERENCES regions(id) ON DELETE SET NULL,
  active           boolean NOT NULL DEFAULT true,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- A visitor sees the history of every conversation of their chat (open or closed), newest last.
CREATE INDEX conversations_chat ON conversations (channel, account_key, chat_id);

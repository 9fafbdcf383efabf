-- crm-core schema v11: messenger conversations, their messages, delivery statuses and the replies' outbox.
-- Rules: router/conversations.ts (inbound), outbound/messengers/outbox.ts (replies); README "Conversations".

-- 001 reserved a conversations table that nothing used; this is the real one.
DROP TABLE conversations;

-- One conversation per chat (channel account + chat id) while it is open: one activity of type message on the
-- client's entity. Closed by an operator or after CONVERSATION_IDLE_HOURS without messages; the next message then
-- opens a new one (and a new activity).
CREATE TABLE conversations (
  id               bigserial PRIMARY KEY,
  activity_id      bigint NOT NULL UNIQUE REFERENCES activities(id) ON DELETE CASCADE,
  channel          text NOT NULL,
  account_key      text NOT NULL,
  -- where replies go: Telegram chat id, WhatsApp wa_id, VK peer_id, Viber user id, Instagram IGSID
  chat_id          text NOT NULL,
  -- the client's entity; 'queue' (owner_id NULL) for a chat the business opened with nobody known yet
  owner_type       text NOT NULL CHECK (owner_type IN ('lead', 'contact', 'company', 'queue')),
  owner_id         integer,
  status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  opened_at        timestamptz NOT NULL,
  last_message_at  timestamptz NOT NULL,
  -- the client's last message: WhatsApp's 24-hour customer-service window runs from it
  last_inbound_at  timestamptz,
  closed_at        timestamptz,
  closed_by        text CHECK (closed_by IN ('operator', 'idle')),
  closed_by_operator_id integer REFERENCES operators(id) ON DELETE SET NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- At most one open conversation per chat, whatever router instance opens it.
CREATE UNIQUE INDEX conversations_open_chat ON conversations (channel, account_key, chat_id) WHERE status = 'open';
CREATE INDEX conversations_owner ON conversations (owner_type, owner_id, last_message_at);
CREATE INDEX conversations_open_idle ON conversations (last_message_at) WHERE status = 'open';

-- Every message of a conversation, inbound and outbound, in order of occurred_at (then id).
CREATE TABLE messages (
  id               bigserial PRIMARY KEY,
  conversation_id  bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  channel          text NOT NULL,
  account_key      text NOT NULL,
  direction        text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  -- the vendor's id; NULL for a reply not sent yet. A redelivered update finds its row here and changes nothing.
  vendor_message_id text,
  -- the bus event that brought it (NULL for replies written through the API)
  event_id         uuid,
  text             text,
  -- metadata only (kind, fileId, url, name, mimeType, size, caption): files are fetched on demand
  attachments      jsonb NOT NULL DEFAULT '[]',
  -- location, interactive choice, shared contact, template of a reply
  extras           jsonb NOT NULL DEFAULT '{}',
  reply_to_vendor_message_id text,
  -- outbound only: pending (in the outbox) < sent < failed < delivered < read; never moves backwards
  status           text CHECK (status IN ('pending', 'sent', 'failed', 'delivered', 'read')),
  -- the vendor's error for failed: {code, message}
  error            jsonb,
  status_at        timestamptz,
  operator_id      integer REFERENCES operators(id) ON DELETE SET NULL,
  occurred_at      timestamptz NOT NULL,
  edited_at        timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel, account_key, vendor_message_id)
);
CREATE INDEX messages_conversation ON messages (conversation_id, occurred_at, id);

-- A delivery status that arrived before the message it is about was known (before our send was recorded):
-- kept here, the highest one per message, and applied when the message gets its vendor id.
CREATE TABLE message_statuses_pending (
  channel           text NOT NULL,
  account_key       text NOT NULL,
  vendor_message_id text NOT NULL,
  status            text NOT NULL CHECK (status IN ('sent', 'failed', 'delivered', 'read')),
  error             jsonb,
  occurred_at       timestamptz NOT NULL,
  received_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, account_key, vendor_message_id)
);

-- Operators' replies: recorded with their message row, delivered by outbound/messengers/outbox.ts. Same claim
-- discipline as outbound_emails (status + lease, attempts as fencing token).
CREATE TABLE messenger_outbox (
  id               bigserial PRIMARY KEY,
  message_id       bigint NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
  conversation_id  bigint NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  account_key      text NOT NULL,
  chat_id          text NOT NULL,
  operator_id      integer REFERENCES operators(id) ON DELETE SET NULL,
  -- the caller's Idempotency-Key (unique per operator); also the vendor's dedup key where it has one (VK random_id)
  idempotency_key  text NOT NULL,
  -- what to send: text, attachments, template
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  -- the attempt whose request was handed to the vendor: an abandoned claim with it set may have been delivered
  dispatched_attempt integer,
  lease_until      timestamptz,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  vendor_response  jsonb,
  sent_at          timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (operator_id, idempotency_key)
);
CREATE INDEX messenger_outbox_due ON messenger_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX messenger_outbox_leases ON messenger_outbox (lease_until) WHERE status = 'sending';

-- Messenger channel accounts (channels/messengers.ts) and the identity kinds of the new messengers.

CREATE TABLE messenger_accounts (
  key         text PRIMARY KEY,
  vendor      text NOT NULL CHECK (vendor IN ('telegram', 'whatsapp', 'vk', 'viber', 'instagram')),
  name        text NOT NULL,
  -- the vendor's settings that are not secret: phoneNumberId, igUserId, groupId, mode, senderName
  settings    jsonb NOT NULL DEFAULT '{}',
  -- tokens, app secrets and verify tokens: used by connectors and senders, never returned by the API
  secrets     jsonb NOT NULL DEFAULT '{}',
  source      text,
  region_id   integer REFERENCES regions(id) ON DELETE SET NULL,
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A VK user id, a Viber user id and an Instagram-scoped id are identities of their own, unique like the others.
ALTER TABLE identities DROP CONSTRAINT identities_kind_check;
ALTER TABLE identities ADD CONSTRAINT identities_kind_check
  CHECK (kind IN ('phone', 'email', 'telegram', 'whatsapp', 'webchat', 'vk', 'viber', 'instagram'));

-- crm-core schema v2: the outbound email outbox (operator replies). See outbound/README.md for the delivery rules.

-- One row per outbound message, written in the same transaction as its outbound email activity. The row, not
-- the HTTP request, is what gets the mail out: the request tries once, the outbox worker retries until sent or
-- failed. A row is claimed (status 'sending' + lease) before SMTP is spoken, so two senders never race on it.
CREATE TABLE outbound_emails (
  id                   bigserial PRIMARY KEY,
  -- the outbound email activity (state 'planned' until the message is sent)
  activity_id          bigint NOT NULL UNIQUE REFERENCES activities(id) ON DELETE CASCADE,
  -- the activity answered (the client's email)
  reply_to_activity_id bigint REFERENCES activities(id) ON DELETE SET NULL,
  -- a mailbox deleted while a message waits makes the message fail (it cannot be sent from nowhere)
  mailbox_id           integer REFERENCES mailboxes(id) ON DELETE SET NULL,
  operator_id          integer REFERENCES operators(id) ON DELETE SET NULL,
  -- the caller's Idempotency-Key header, unique per operator: a repeated request finds this row
  idempotency_key      text,
  -- generated before sending (ownMessageId); clients' answers carry it in In-Reply-To / References
  message_id           text NOT NULL UNIQUE,
  from_address         text NOT NULL,
  to_addresses         text[] NOT NULL,
  cc_addresses         text[] NOT NULL DEFAULT '{}',
  subject              text NOT NULL,
  text_body            text,
  html_body            text,
  in_reply_to          text,
  reference_ids        text[] NOT NULL DEFAULT '{}',
  -- the complete RFC 5322 message, composed once: every attempt sends, and the Sent copy holds, the same bytes
  raw_message          text NOT NULL,
  status               text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
  -- attempts claimed so far; also the fencing token of the current claim
  attempts             integer NOT NULL DEFAULT 0,
  -- a 'sending' row whose lease passed was abandoned mid-attempt (crash): the Sent folder is checked first
  lease_until          timestamptz,
  -- pending: the next send attempt; sent without a Sent copy: the next try to file the copy
  next_attempt_at      timestamptz NOT NULL DEFAULT now(),
  last_error           text,
  smtp_response        text,
  sent_at              timestamptz,
  sent_copy_appended   boolean NOT NULL DEFAULT false,
  sent_copy_attempts   integer NOT NULL DEFAULT 0,
  sent_copy_error      text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (operator_id, idempotency_key)
);
CREATE INDEX outbound_emails_due ON outbound_emails (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbound_emails_leases ON outbound_emails (lease_until) WHERE status = 'sending';
CREATE INDEX outbound_emails_copies ON outbound_emails (next_attempt_at) WHERE status = 'sent' AND NOT sent_copy_appended;
CREATE INDEX outbound_emails_reply_to ON outbound_emails (reply_to_activity_id);

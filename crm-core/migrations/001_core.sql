-- crm-core schema v1. Applied once, in order, under an advisory lock (see crm-core/db/migrate.ts).

CREATE TABLE regions (
  id           serial PRIMARY KEY,
  code         text NOT NULL UNIQUE,
  name         text NOT NULL,
  -- how a new contact is given to one of the region's operators
  strategy     text NOT NULL DEFAULT 'round_robin' CHECK (strategy IN ('round_robin', 'least_loaded')),
  -- regions are tried in this order; the first with a matching rule wins
  priority     integer NOT NULL DEFAULT 100,
  default_operator_id integer,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE region_rules (
  id         serial PRIMARY KEY,
  region_id  integer NOT NULL REFERENCES regions(id) ON DELETE CASCADE,
  position   integer NOT NULL DEFAULT 0,
  kind       text NOT NULL CHECK (kind IN ('phone_prefix', 'country', 'called_line', 'form_region', 'form_city')),
  value      text NOT NULL
);
CREATE INDEX region_rules_region ON region_rules (region_id, position);

CREATE TABLE operators (
  id          serial PRIMARY KEY,
  login       text NOT NULL UNIQUE,
  name        text NOT NULL,
  email       text,
  extension   text UNIQUE,
  -- sha256 of the operator's API token; the token itself is shown once, at creation
  token_hash  text UNIQUE,
  -- online/offline is availability for new contacts; active=false means the operator left
  status      text NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline')),
  active      boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE regions ADD CONSTRAINT regions_default_operator FOREIGN KEY (default_operator_id) REFERENCES operators(id) ON DELETE SET NULL;

CREATE TABLE operator_regions (
  operator_id integer NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
  region_id   integer NOT NULL REFERENCES regions(id) ON DELETE CASCADE,
  PRIMARY KEY (operator_id, region_id)
);

-- Round-robin pointer per region; the row is locked while a batch assigns in that region.
CREATE TABLE assignment_state (
  region_id        integer PRIMARY KEY REFERENCES regions(id) ON DELETE CASCADE,
  last_operator_id integer,
  assigned_total   bigint NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Global settings such as the default queue operator (key 'default_operator_id').
CREATE TABLE app_settings (
  key    text PRIMARY KEY,
  value  jsonb NOT NULL
);

CREATE TABLE companies (
  id             serial PRIMARY KEY,
  name           text NOT NULL,
  responsible_id integer REFERENCES operators(id),
  region_id      integer REFERENCES regions(id),
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contacts (
  id             serial PRIMARY KEY,
  name           text,
  company_id     integer REFERENCES companies(id),
  responsible_id integer REFERENCES operators(id),
  region_id      integer REFERENCES regions(id),
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE leads (
  id                  serial PRIMARY KEY,
  title               text NOT NULL,
  name                text,
  status              text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'converted', 'junk')),
  responsible_id      integer REFERENCES operators(id),
  region_id           integer REFERENCES regions(id),
  -- why this operator (or nobody): sticky, round_robin, least_loaded, region_default, global_default, unassigned:<reason>
  assignment_reason   text NOT NULL,
  channel             text NOT NULL,
  source_type         text NOT NULL,
  source_key          text NOT NULL,
  source_name         text,
  utm                 jsonb NOT NULL DEFAULT '{}',
  first_event_id      uuid NOT NULL,
  converted_contact_id integer REFERENCES contacts(id),
  converted_company_id integer REFERENCES companies(id),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX leads_status ON leads (status, created_at);
CREATE INDEX leads_responsible ON leads (responsible_id, status);

CREATE TABLE deals (
  id             serial PRIMARY KEY,
  title          text NOT NULL,
  stage          text NOT NULL DEFAULT 'new',
  contact_id     integer REFERENCES contacts(id),
  company_id     integer REFERENCES companies(id),
  lead_id        integer REFERENCES leads(id),
  responsible_id integer REFERENCES operators(id),
  amount         numeric(14, 2),
  closed         boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per way of recognising a client. The unique (kind, value) is what makes "exactly one lead per new
-- client" hold across router instances: the second transaction to insert the same identity cannot succeed.
CREATE TABLE identities (
  id          bigserial PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('phone', 'email', 'telegram', 'whatsapp', 'webchat')),
  value       text NOT NULL,
  valid       boolean NOT NULL DEFAULT true,
  owner_type  text NOT NULL CHECK (owner_type IN ('lead', 'contact', 'company')),
  owner_id    integer NOT NULL,
  -- set when mail to this address bounced
  bouncing    boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, value)
);
CREATE INDEX identities_owner ON identities (owner_type, owner_id);

CREATE TABLE activities (
  id              bigserial PRIMARY KEY,
  -- 'queue' owners have owner_id NULL: contacts without any identity (withheld numbers, robots) wait there
  owner_type      text NOT NULL CHECK (owner_type IN ('lead', 'contact', 'company', 'deal', 'queue')),
  owner_id        integer,
  type            text NOT NULL CHECK (type IN ('call', 'email', 'message', 'form', 'callback', 'task', 'meeting')),
  direction       text CHECK (direction IN ('inbound', 'outbound')),
  state           text NOT NULL CHECK (state IN ('planned', 'completed')),
  subject         text,
  body            text,
  deadline        timestamptz,
  completed_at    timestamptz,
  responsible_id  integer REFERENCES operators(id),
  channel         text,
  source_key      text,
  event_id        uuid,
  -- idempotency key for things updated by several events: 'call:<line>:<callId>', 'callback:<line>:<callId>'
  external_key    text UNIQUE,
  message_id      text,
  thread_ref      text,
  details         jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activities_owner ON activities (owner_type, owner_id, created_at);
CREATE INDEX activities_responsible ON activities (responsible_id, state, deadline);
CREATE INDEX activities_message_id ON activities (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE conversations (
  id             bigserial PRIMARY KEY,
  channel        text NOT NULL,
  source_key     text NOT NULL,
  thread_ref     text NOT NULL,
  owner_type     text NOT NULL,
  owner_id       integer,
  responsible_id integer REFERENCES operators(id),
  last_message_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel, source_key, thread_ref)
);

-- Idempotency: an event id is processed once, whatever the bus redelivers.
CREATE TABLE processed_events (
  event_id     uuid PRIMARY KEY,
  owner_type   text,
  owner_id     integer,
  activity_id  bigint,
  processed_at timestamptz NOT NULL DEFAULT now()
);

-- Identities of one contact pointed at different owners: attached to the best match, the others noted here.
CREATE TABLE duplicate_candidates (
  id              bigserial PRIMARY KEY,
  event_id        uuid NOT NULL,
  chosen_type     text NOT NULL,
  chosen_id       integer NOT NULL,
  other_type      text NOT NULL,
  other_id        integer NOT NULL,
  identity_kind   text NOT NULL,
  identity_value  text NOT NULL,
  resolved        boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (chosen_type, chosen_id, other_type, other_id)
);

-- Channel settings, configured through the admin API and read by connectors.
CREATE TABLE forms (
  key             text PRIMARY KEY,
  name            text NOT NULL,
  field_map       jsonb NOT NULL DEFAULT '{}',
  allowed_origins text[] NOT NULL DEFAULT '{}',
  honeypot_field  text,
  redirect_url    text,
  region_id       integer REFERENCES regions(id) ON DELETE SET NULL,
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE telephony_lines (
  key             text PRIMARY KEY,
  name            text NOT NULL,
  number          text,
  secret          text NOT NULL,
  source          text,
  region_id       integer REFERENCES regions(id) ON DELETE SET NULL,
  create_lead_on_outbound boolean NOT NULL DEFAULT false,
  options         jsonb NOT NULL DEFAULT '{}',
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mailboxes (
  id              serial PRIMARY KEY,
  name            text NOT NULL,
  address         text NOT NULL UNIQUE,
  imap            jsonb NOT NULL,
  smtp            jsonb,
  folders         text[] NOT NULL DEFAULT '{INBOX}',
  sync_since      timestamptz,
  processed       jsonb NOT NULL DEFAULT '{"action":"none"}',
  attachment_max_bytes integer NOT NULL DEFAULT 5242880,
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- Connectors' own positions (IMAP UIDVALIDITY + last UID, messenger offsets).
CREATE TABLE connector_cursors (
  connector  text NOT NULL,
  key        text NOT NULL,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connector, key)
);

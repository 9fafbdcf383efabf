-- Sign-in, roles and browser sessions (issue 9 item 1).

-- operators.login is already UNIQUE (001). password_hash is "scrypt$N$r$p$salt$hash" (lib/password.ts): the
-- parameters travel with the hash, so raising them later does not lock anybody out. NULL = cannot sign in
-- with a password (API token only).
ALTER TABLE operators ADD COLUMN password_hash text;
ALTER TABLE operators ADD COLUMN role text NOT NULL DEFAULT 'operator'
  CHECK (role IN ('operator', 'supervisor', 'admin'));

-- One row per browser session. Only the SHA-256 of the session id is stored: a copy of this table does not
-- let anybody sign in. expires_at slides forward on use (SESSION_TTL_HOURS).
CREATE TABLE sessions (
  id_hash      text PRIMARY KEY,
  operator_id  integer NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  ip           text,
  user_agent   text
);
CREATE INDEX sessions_operator ON sessions (operator_id) WHERE revoked_at IS NULL;

-- Wrong passwords, counted per submitted login ('login:<login>') and per client address ('ip:<addr>'), so the
-- slowdown holds across API instances. Keyed by what was typed, whether or not such an operator exists.
CREATE TABLE sign_in_failures (
  key             text PRIMARY KEY,
  failures        integer NOT NULL,
  last_failure_at timestamptz NOT NULL,
  blocked_until   timestamptz NOT NULL
);

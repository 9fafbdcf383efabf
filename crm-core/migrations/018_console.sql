-- The operator console (issue 9 item 2): presence 'away' (signed in, takes no new contacts) and canned answers.

-- 'away' is neither online (the picker gives new contacts only to online operators) nor offline: the console
-- shows the difference to colleagues and supervisors.
ALTER TABLE operators DROP CONSTRAINT operators_status_check;
ALTER TABLE operators ADD CONSTRAINT operators_status_check CHECK (status IN ('online', 'away', 'offline'));

-- Ready-made replies an administrator writes once and operators insert into the composer. region_id NULL:
-- for everybody; else for the operators of that region (and supervisors and admins).
CREATE TABLE canned_answers (
  id          serial PRIMARY KEY,
  title       text NOT NULL,
  body        text NOT NULL,
  -- the language the answer is written in (the console filters by the operator's choice); NULL: any
  language    text,
  region_id   integer REFERENCES regions(id) ON DELETE CASCADE,
  position    integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX canned_answers_region ON canned_answers (region_id, position, id);

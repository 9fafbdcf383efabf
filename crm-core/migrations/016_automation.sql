-- crm-core schema v16: automation on inbound (issue 10 item 4). Rules an administrator configures
-- (/v1/admin/automation-rules) and the durable timers the scheduler fires (router/automation/, README "Automation").

-- kind: first_response_sla (an unanswered conversation, email or missed call is overdue after N minutes, and may
-- be escalated), offline_reassign (an operator going offline hands their unanswered conversations on), condition
-- (a task or callback when a routed contact matches). settings holds the kind's fields, validated by
-- crm-core/services/automation-rules.service.ts before they get here.
CREATE TABLE automation_rules (
  id          serial PRIMARY KEY,
  name        text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('first_response_sla', 'offline_reassign', 'condition')),
  active      boolean NOT NULL DEFAULT true,
  settings    jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX automation_rules_active ON automation_rules (kind) WHERE active;

-- One row per timer: PostgreSQL is the timer store, so a restart loses none. A scheduler claims due rows with
-- FOR UPDATE SKIP LOCKED and fires each in the transaction that moves it out of 'pending', so two instances never
-- fire one twice and a crash mid-fire leaves it pending for the next. target: the activity waiting for an answer
-- (SLA) or the operator who went offline (offline_reassign).
--   pending   -> due at due_at (a firing that finds the wait started later moves due_at on)
--   fired     -> the rule acted (SLA: the target is overdue, counted until answered)
--   resolved  -> the answer came (first operator reply, call back) before or after firing
--   cancelled -> nothing left to do (rule inactive, operator back online, target gone)
CREATE TABLE automation_timers (
  id           bigserial PRIMARY KEY,
  rule_id      integer NOT NULL REFERENCES automation_rules(id) ON DELETE CASCADE,
  target_type  text NOT NULL CHECK (target_type IN ('activity', 'operator')),
  target_id    bigint NOT NULL,
  due_at       timestamptz NOT NULL,
  state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'fired', 'resolved', 'cancelled')),
  fired_at     timestamptz,
  resolved_at  timestamptz,
  -- what the firing did: {action, operatorId, ...}
  outcome      jsonb,
  created_at   timestamptz NOT NULL DEFAULT now()
);
-- Scheduling is idempotent: one live timer per rule and target (a repeated contact adds none; an overdue activity
-- gets no second timer until it is answered). An operator's offline timer is done once fired: the next time they
-- go offline schedules a new one.
CREATE UNIQUE INDEX automation_timers_live ON automation_timers (rule_id, target_type, target_id)
  WHERE state = 'pending' OR (state = 'fired' AND target_type = 'activity');
CREATE INDEX automation_timers_due ON automation_timers (due_at) WHERE state = 'pending';
CREATE INDEX automation_timers_overdue ON automation_timers (target_type, target_id) WHERE state = 'fired';

-- crm-core schema v17: what the leads and operators reports read (GET /v1/reports/leads, /v1/reports/operators).
-- Rules and definitions: crm-core/repositories/lead-report.repository.ts, operator-report.repository.ts.
--
-- "First response" is stored, not searched for at report time: finding, for each of a million inbound contacts,
-- the next reply to the same client is a join no report can afford. Each inbound contact (a call, email,
-- conversation or form: activities with direction 'inbound') gets first_response_at, and each lead gets the first
-- response to its client. Both are written by triggers, in the transaction of whatever wrote the response (the
-- router's batch, an operator's reply, a completed callback), so they are right under concurrent routing without
-- a second writer: the rows they touch are the responding client's own (no shared counter row that concurrent
-- batches would queue on), and the reports then read them through index-only scans.
--
-- A response to a client, at time t, is:
--   - an outbound call, email or message activity (t = its created_at: when the operator wrote or dialled);
--   - an outbound message in one of the client's conversations (t = the message's occurred_at);
--   - a completed callback (t = completed_at);
--   - an inbound call that was answered (t = created_at + the call's wait seconds).
-- It answers every inbound contact of the same client (owner) made at or before t that has no earlier response; a
-- conversation's own activity is answered by its first outbound message even while it waits in the queue.
-- A lead's first response is the first response to its client after it was created, or its creation time when
-- the business spoke first (an outbound call that created the lead): leads.created_at is when the router wrote
-- it, activities carry the contact's own time, and the two may be seconds apart.

ALTER TABLE activities ADD COLUMN first_response_at timestamptz;
ALTER TABLE leads ADD COLUMN first_response_at timestamptz;

CREATE INDEX leads_converted_contact ON leads (converted_contact_id) WHERE converted_contact_id IS NOT NULL;

CREATE FUNCTION report_record_response(p_owner_type text, p_owner_id integer, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_owner_id IS NULL OR p_at IS NULL THEN
    RETURN;
  END IF;
  -- "Or later than this one": responses committed out of their own order (two routers, a late event) still
  -- leave the earliest. The client's rows come through activities_owner (owner_type, owner_id, created_at).
  UPDATE activities SET first_response_at = p_at
   WHERE owner_type = p_owner_type AND owner_id = p_owner_id AND created_at <= p_at AND direction = 'inbound'
     AND type IN ('call', 'email', 'message', 'form') AND (first_response_at IS NULL OR first_response_at > p_at);
  IF p_owner_type = 'lead' THEN
    UPDATE leads SET first_response_at = GREATEST(p_at, created_at)
     WHERE id = p_owner_id AND (first_response_at IS NULL OR first_response_at > GREATEST(p_at, created_at));
  ELSIF p_owner_type = 'contact' THEN
    -- A lead converted before anyone answered it: the first response to its contact answers it.
    UPDATE leads SET first_response_at = GREATEST(p_at, created_at)
     WHERE converted_contact_id = p_owner_id
       AND (first_response_at IS NULL OR first_response_at > GREATEST(p_at, created_at));
  END IF;
END
$$;

CREATE FUNCTION report_activity_response() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_at timestamptz;
BEGIN
  IF NEW.direction = 'outbound' AND NEW.type IN ('call', 'email', 'message') THEN
    v_at := NEW.created_at;
  ELSIF NEW.type = 'callback' AND NEW.state = 'completed' THEN
    v_at := NEW.completed_at;
  ELSIF NEW.type = 'call' AND NEW.direction = 'inbound' AND NEW.details->>'result' = 'answered' THEN
    v_at := NEW.created_at + make_interval(secs => COALESCE((NEW.details->'call'->>'waitSec')::numeric, 0));
  ELSE
    RETURN NULL;
  END IF;
  PERFORM report_record_response(NEW.owner_type, NEW.owner_id, v_at);
  RETURN NULL;
END
$$;

-- UPDATE OF: only writes that can make a row a response fire it; the triggers' own first_response_at updates do not.
CREATE TRIGGER activities_report_response AFTER INSERT OR UPDATE OF state, direction, details, completed_at
  ON activities FOR EACH ROW EXECUTE FUNCTION report_activity_response();

CREATE FUNCTION report_message_response() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  c record;
BEGIN
  SELECT activity_id, owner_type, owner_id INTO c FROM conversations WHERE id = NEW.conversation_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  UPDATE activities SET first_response_at = NEW.occurred_at
   WHERE id = c.activity_id AND direction = 'inbound' AND created_at <= NEW.occurred_at
     AND (first_response_at IS NULL OR first_response_at > NEW.occurred_at);
  PERFORM report_record_response(c.owner_type, c.owner_id, NEW.occurred_at);
  RETURN NULL;
END
$$;

CREATE TRIGGER messages_report_response AFTER INSERT ON messages
  FOR EACH ROW WHEN (NEW.direction = 'outbound') EXECUTE FUNCTION report_message_response();

-- Existing history, once: the same definition, set-based (hash joins on the owner, no per-row search).
CREATE TEMPORARY TABLE report_responses ON COMMIT DROP AS
  SELECT owner_type, owner_id, created_at AS resp_at FROM activities
   WHERE direction = 'outbound' AND type IN ('call', 'email', 'message') AND owner_id IS NOT NULL
  UNION ALL
  SELECT owner_type, owner_id, completed_at FROM activities
   WHERE type = 'callback' AND state = 'completed' AND owner_id IS NOT NULL AND completed_at IS NOT NULL
  UNION ALL
  SELECT owner_type, owner_id,
         created_at + make_interval(secs => COALESCE((details->'call'->>'waitSec')::numeric, 0)) FROM activities
   WHERE type = 'call' AND direction = 'inbound' AND details->>'result' = 'answered' AND owner_id IS NOT NULL
  UNION ALL
  SELECT c.owner_type, c.owner_id, m.occurred_at FROM messages m JOIN conversations c ON c.id = m.conversation_id
   WHERE m.direction = 'outbound' AND c.owner_id IS NOT NULL;

UPDATE activities a SET first_response_at = x.resp_at
  FROM (SELECT i.id, min(r.resp_at) AS resp_at FROM activities i
          JOIN report_responses r ON r.owner_type = i.owner_type AND r.owner_id = i.owner_id AND r.resp_at >= i.created_at
         WHERE i.direction = 'inbound' AND i.type IN ('call', 'email', 'message', 'form')
         GROUP BY i.id) x
 WHERE a.id = x.id;

UPDATE activities a SET first_response_at = x.resp_at
  FROM (SELECT c.activity_id AS id, min(m.occurred_at) AS resp_at
          FROM conversations c JOIN messages m ON m.conversation_id = c.id
         WHERE m.direction = 'outbound' GROUP BY c.activity_id) x
 WHERE a.id = x.id AND a.type = 'message' AND a.direction = 'inbound' AND a.first_response_at IS NULL
   AND x.resp_at >= a.created_at;

UPDATE leads l SET first_response_at = x.resp_at
  FROM (SELECT id, min(resp_at) AS resp_at FROM (
          SELECT l2.id, a.first_response_at AS resp_at FROM leads l2
            JOIN activities a ON a.owner_type = 'lead' AND a.owner_id = l2.id
           WHERE a.first_response_at >= l2.created_at
          UNION ALL
          SELECT l2.id, a.first_response_at FROM leads l2
            JOIN activities a ON a.owner_type = 'contact' AND a.owner_id = l2.converted_contact_id
           WHERE a.first_response_at >= l2.created_at) y
         GROUP BY id) x
 WHERE l.id = x.id;

-- The reports' scans, index-only (the INCLUDE columns are all they read): inbound contacts by time, callbacks by
-- time, leads by time.
CREATE INDEX activities_inbound_report ON activities (created_at)
  INCLUDE (id, responsible_id, type, first_response_at)
  WHERE direction = 'inbound' AND type IN ('call', 'email', 'message', 'form');
CREATE INDEX activities_callback_report ON activities (created_at)
  INCLUDE (responsible_id, state, deadline, completed_at)
  WHERE type = 'callback';
CREATE INDEX leads_report ON leads (created_at)
  INCLUDE (id, channel, source_type, source_key, source_name, region_id, responsible_id, status, converted_contact_id,
           converted_deal_id, converted_at, first_response_at);

-- Index-only scans skip the table only for pages the visibility map marks all-visible; vacuum sets the marks.
-- By default autovacuum visits a table after 20% of it changed (or was inserted), which on a large activities
-- table leaves weeks of pages to be read from the heap. 2% keeps the recent ones, the ones reports read most, marked.
ALTER TABLE activities SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02);
ALTER TABLE leads SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02);

-- The operators report's SLA column by the administrator's rules (016_automation.sql): the timers that fired on an
-- activity, by due time (a contact's timer is due after it was made, so the period's lower bound limits them).
CREATE INDEX automation_timers_fired ON automation_timers (due_at) INCLUDE (target_id, rule_id)
  WHERE fired_at IS NOT NULL AND target_type = 'activity';

-- The first-response trigger (017) finds a client's inbound activities through the owner index, whatever the
-- statistics say. PL/pgSQL keeps a generic plan for its UPDATE, and on statistics older than a burst that plan
-- scanned activities_inbound_report (every inbound activity of the CRM up to p_at) and filtered on the owner:
-- 13 ms a reply at 2,000 activities in the live-chat bench, growing with the CRM. Wrapped in COALESCE (equivalent:
-- a NULL never matched), direction and type no longer prove that partial index's predicate, so the only index
-- left for this statement is activities_owner (owner_type, owner_id, created_at): a probe of one client's rows.
CREATE OR REPLACE FUNCTION report_record_response(p_owner_type text, p_owner_id integer, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_owner_id IS NULL OR p_at IS NULL THEN
    RETURN;
  END IF;
  -- "Or later than this one": responses committed out of their own order (two routers, a late event) still
  -- leave the earliest. The client's rows come through activities_owner (owner_type, owner_id, created_at).
  UPDATE activities SET first_response_at = p_at
   WHERE owner_type = p_owner_type AND owner_id = p_owner_id AND created_at <= p_at
     AND COALESCE(direction, '') = 'inbound'
     AND COALESCE(type, '') IN ('call', 'email', 'message', 'form')
     AND (first_response_at IS NULL OR first_response_at > p_at);
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

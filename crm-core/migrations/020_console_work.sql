-- The console's work list (crm-core/repositories/console-work.repository.ts): "emails awaiting an answer" keeps a
-- client's inbound email only when no outbound email to them came later. With this index that check is a probe
-- of the client's recent outbound emails instead of a hash of every outbound email ever sent.
CREATE INDEX activities_outbound_email ON activities (owner_type, owner_id, created_at)
  WHERE type = 'email' AND direction = 'outbound';

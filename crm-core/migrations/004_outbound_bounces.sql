-- crm-core schema v4: bounces of our outbound email. A delivery-status notification about one of our messages is
-- routed like any inbound mail and marks that message's outbox row failed, also after 'sent' (our server accepted
-- it; the recipient's did not). See outbound/README.md.
ALTER TABLE outbound_emails ADD COLUMN bounced_at timestamptz;
-- the recipients the notifications named as failed, sorted
ALTER TABLE outbound_emails ADD COLUMN bounced_recipients text[] NOT NULL DEFAULT '{}';
-- A message accepted and then bounced still gets its Sent copy filed: the repair pass follows sent_at, not status.
DROP INDEX outbound_emails_copies;
CREATE INDEX outbound_emails_copies ON outbound_emails (next_attempt_at) WHERE sent_at IS NOT NULL AND NOT sent_copy_appended;

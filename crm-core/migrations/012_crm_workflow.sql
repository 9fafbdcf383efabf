-- crm-core schema v12: the CRM workflow after routing. Lead lifecycle (status changes with who made them, junk
-- reasons, conversion into a contact / company / deal), duplicate merges (the merged-away entity is kept and points
-- at its survivor), operators' notes, and closing deals. Rules: crm-core/services/ (README "CRM workflow").

-- A lead merged into another entity is kept with status 'merged'; it is closed like a converted one.
ALTER TABLE leads DROP CONSTRAINT leads_status_check;
ALTER TABLE leads ADD CONSTRAINT leads_status_check
  CHECK (status IN ('new', 'in_progress', 'converted', 'junk', 'merged'));
ALTER TABLE leads ADD COLUMN junk_reason text;
ALTER TABLE leads ADD COLUMN converted_deal_id integer REFERENCES deals(id);
ALTER TABLE leads ADD COLUMN converted_at timestamptz;

-- Merged entities stay (history, links from other systems) and point at the entity that absorbed them. The
-- router follows the pointer, so a contact that arrives through a stale reference lands on the survivor.
ALTER TABLE leads ADD COLUMN merged_into_type text CHECK (merged_into_type IN ('lead', 'contact', 'company'));
ALTER TABLE leads ADD COLUMN merged_into_id integer;
ALTER TABLE leads ADD COLUMN merged_at timestamptz;
ALTER TABLE contacts ADD COLUMN merged_into_type text CHECK (merged_into_type IN ('contact'));
ALTER TABLE contacts ADD COLUMN merged_into_id integer;
ALTER TABLE contacts ADD COLUMN merged_at timestamptz;
ALTER TABLE companies ADD COLUMN merged_into_type text CHECK (merged_into_type IN ('company'));
ALTER TABLE companies ADD COLUMN merged_into_id integer;
ALTER TABLE companies ADD COLUMN merged_at timestamptz;

-- Deals: closing (won or lost, with a reason). (deals.updated_at comes with 014_store_orders.)
ALTER TABLE deals ADD COLUMN outcome text CHECK (outcome IN ('won', 'lost'));
ALTER TABLE deals ADD COLUMN close_reason text;
ALTER TABLE deals ADD COLUMN closed_at timestamptz;
CREATE INDEX deals_contact ON deals (contact_id);
CREATE INDEX deals_company ON deals (company_id);
CREATE INDEX deals_lead ON deals (lead_id);
CREATE INDEX deals_responsible_open ON deals (responsible_id) WHERE NOT closed;

-- Activities: an operator's note ('note', completed at once) and the workflow's own records ('system': a status
-- or stage change, a conversion, a merge), both on the timeline. created_by is the operator who wrote the row
-- through the API (NULL for what the router recorded).
ALTER TABLE activities DROP CONSTRAINT activities_type_check;
ALTER TABLE activities ADD CONSTRAINT activities_type_check
  CHECK (type IN ('call', 'email', 'message', 'form', 'callback', 'task', 'meeting', 'note', 'system'));
ALTER TABLE activities ADD COLUMN created_by integer REFERENCES operators(id);

-- Duplicate candidates: how each was settled, by whom, and which entity survived a merge.
ALTER TABLE duplicate_candidates ADD COLUMN resolution text
  CHECK (resolution IN ('merged', 'dismissed', 'superseded'));
ALTER TABLE duplicate_candidates ADD COLUMN resolved_at timestamptz;
ALTER TABLE duplicate_candidates ADD COLUMN resolved_by integer REFERENCES operators(id);
ALTER TABLE duplicate_candidates ADD COLUMN survivor_type text;
ALTER TABLE duplicate_candidates ADD COLUMN survivor_id integer;
CREATE INDEX duplicate_candidates_open ON duplicate_candidates (id) WHERE NOT resolved;
CREATE INDEX duplicate_candidates_chosen ON duplicate_candidates (chosen_type, chosen_id);
CREATE INDEX duplicate_candidates_other ON duplicate_candidates (other_type, other_id);

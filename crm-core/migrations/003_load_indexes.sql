-- Operator load (least-loaded assignment, counters) counts open leads and planned activities per operator;
-- these partial indexes keep those counts small index scans as history grows.
CREATE INDEX leads_open_by_responsible ON leads (responsible_id) WHERE status IN ('new', 'in_progress');
CREATE INDEX activities_planned_by_responsible ON activities (responsible_id, deadline) WHERE state = 'planned';

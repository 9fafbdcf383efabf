import type { Database } from '../../crm-core/db/database.js';
import { type Contact, clientPhone, type LoadResult } from './load.js';

/**
 * What must hold after the faults, read from the CRM's tables and the dead-letter topic. Each violation is
 * one line of the report; the run fails when there is any.
 */
export interface CheckInput {
  db: Database;
  contacts: Contact[];
  load: LoadResult;
  deadLetters: number;
  /** Processes that ended without being killed by the test (crashes). */
  crashes: Record<string, number>;
  line: string;
}

export interface CheckResult {
  violations: string[];
  figures: Record<string, number>;
}

export async function checkOutcome(c: CheckInput): Promise<CheckResult> {
  const v: string[] = [];
  const accepted = c.contacts.filter((x) => c.load.accepted.has(x.key));
  const forms = accepted.filter((x) => x.kind === 'form');
  const calls = accepted.filter((x) => x.kind === 'call');

  // Every accepted form: exactly one form activity for its event id.
  const formRows = await c.db.query<{ event_id: string; n: number }>(
    "SELECT event_id::text, count(*)::int AS n FROM activities WHERE type = 'form' GROUP BY event_id",
  );
  const formCount = new Map(formRows.rows.map((r) => [r.event_id, r.n]));
  const lostForms = forms.filter((f) => !formCount.has(c.load.accepted.get(f.key)!));
  const doubledForms = forms.filter((f) => (formCount.get(c.load.accepted.get(f.key)!) ?? 0) > 1);
  // Every accepted call: exactly one call activity for its call id.
  const callRows = await c.db.query<{ external_key: string; n: number }>(
    "SELECT external_key, count(*)::int AS n FROM activities WHERE type = 'call' GROUP BY external_key",
  );
  const callCount = new Map(callRows.rows.map((r) => [r.external_key, r.n]));
  const lostCalls = calls.filter((x) => !callCount.has(`call:${c.line}:${x.key}`));
  const doubledCalls = calls.filter((x) => (callCount.get(`call:${c.line}:${x.key}`) ?? 0) > 1);
  const extraForms = formRows.rows.length - (forms.length - lostForms.length);

  // One lead per client: the client's phone names exactly one lead, and there are no other leads.
  const clients = [...new Set(accepted.map((x) => x.client))];
  const owners = await c.db.query<{ value: string; owner_type: string; owners: number }>(
    `SELECT value, min(owner_type) AS owner_type, count(DISTINCT owner_id)::int AS owners
       FROM identities WHERE kind = 'phone' GROUP BY value`,
  );
  const byPhone = new Map(owners.rows.map((r) => [r.value, r]));
  const withoutLead = clients.filter((i) => byPhone.get(clientPhone(i))?.owner_type !== 'lead');
  const leads = Number((await c.db.query<{ n: number }>('SELECT count(*)::int AS n FROM leads')).rows[0]!.n);
  const emptyLeads = Number(
    (
      await c.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM leads l
          WHERE NOT EXISTS (SELECT 1 FROM activities a WHERE a.owner_type = 'lead' AND a.owner_id = l.id)`,
      )
    ).rows[0]!.n,
  );
  // Activities of a client's contacts all sit on that client's lead.
  const scattered = Number(
    (
      await c.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (
           SELECT i.value FROM activities a JOIN identities i ON i.owner_type = a.owner_type AND i.owner_id = a.owner_id
            WHERE i.kind = 'phone' AND a.type IN ('form', 'call')
            GROUP BY i.value HAVING count(DISTINCT a.owner_id) > 1) s`,
      )
    ).rows[0]!.n,
  );

  const unaccepted = c.contacts.length - accepted.length;
  if (unaccepted - c.load.rejected.length > 0) v.push(`${unaccepted} contacts never got a 2xx`);
  if (c.load.rejected.length)
    v.push(
      `${c.load.rejected.length} valid contacts were refused with a 4xx (first: ${c.load.rejected[0]!.status} ${c.load.rejected[0]!.body})`,
    );
  if (c.load.serverErrors.length)
    v.push(
      `${c.load.serverErrors.length} answers were 5xx other than 503 (first: ${c.load.serverErrors[0]!.status} ${c.load.serverErrors[0]!.body})`,
    );
  if (lostForms.length) v.push(`${lostForms.length} accepted forms are missing from the CRM`);
  if (lostCalls.length) v.push(`${lostCalls.length} accepted calls are missing from the CRM`);
  if (doubledForms.length) v.push(`${doubledForms.length} forms were recorded more than once`);
  if (doubledCalls.length) v.push(`${doubledCalls.length} calls were recorded more than once`);
  if (extraForms > 0) v.push(`${extraForms} form activities belong to no accepted contact`);
  if (withoutLead.length) v.push(`${withoutLead.length} clients have no lead`);
  const twoLeads = clients.filter((i) => (byPhone.get(clientPhone(i))?.owners ?? 0) > 1);
  if (twoLeads.length) v.push(`${twoLeads.length} clients have more than one lead`);
  if (leads !== clients.length) v.push(`${leads} leads for ${clients.length} clients`);
  if (emptyLeads) v.push(`${emptyLeads} leads have no activity`);
  if (scattered) v.push(`${scattered} clients have activities on more than one owner`);
  if (c.deadLetters) v.push(`${c.deadLetters} events on the dead-letter topic`);
  for (const [name, n] of Object.entries(c.crashes)) if (n) v.push(`${name} ended on its own ${n} time(s)`);

  return {
    violations: v,
    figures: {
      contacts: c.contacts.length,
      accepted: accepted.length,
      forms: forms.length,
      calls: calls.length,
      clients: clients.length,
      leads,
      lost: lostForms.length + lostCalls.length,
      duplicated: doubledForms.length + doubledCalls.length,
      emptyLeads,
      deadLetters: c.deadLetters,
      serverErrors: c.load.serverErrors.length,
      attempts: c.load.attempts.length,
      answers503: c.load.attempts.filter((a) => a.status === 503).length,
      noAnswer: c.load.attempts.filter((a) => a.status === 0).length,
    },
  };
}

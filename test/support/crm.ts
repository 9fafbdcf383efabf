import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { Queryable } from '../../crm-core/db/database.js';
import { bearer } from './api-app.js';

/** Request helpers for the CRM workflow suites: one call, one error assertion, two look-ups. */
export async function send(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PATCH' | 'PUT',
  url: string,
  token: string,
  payload?: unknown,
) {
  const r = await app.inject({
    method,
    url,
    headers: bearer(token),
    ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
  });
  return { status: r.statusCode, body: r.json() as Body, headers: r.headers };
}

/** A response body, read freely by assertions (its shape is what they check). */
// biome-ignore lint/suspicious/noExplicitAny: the assertions are the type check
export type Body = any;

/** A timeline item as the API answers it. */
export interface Item {
  id: number;
  type: string;
  state: string;
  ownerType: string;
  ownerId: number;
  createdBy: number | null;
  details: {
    change?: string;
    from?: string;
    to?: string;
    reason?: string;
    by?: { kind: string; operatorId?: number };
    [k: string]: unknown;
  };
}

export function expectError(r: { status: number; body: Body }, status: number, code: string, field?: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body.error.code).toBe(code);
  if (field) {
    expect(r.body.error.fields).toContain(field);
    expect(r.body.error.message).toMatch(new RegExp(`^${field.replace('.', '\\.')}: `));
  }
}

/** Who holds an identity now. */
export async function holderOf(db: Queryable, kind: string, value: string) {
  const r = await db.query<{ owner_type: string; owner_id: number }>(
    'SELECT owner_type, owner_id FROM identities WHERE kind = $1 AND value = $2',
    [kind, value],
  );
  const row = r.rows[0];
  return row ? { type: row.owner_type, id: row.owner_id } : undefined;
}

export async function activitiesOf(db: Queryable, type: string, id: number) {
  return (
    await db.query<{
      id: number;
      type: string;
      state: string;
      event_id: string | null;
      details: Record<string, unknown>;
    }>(
      'SELECT id, type, state, event_id, details FROM activities WHERE owner_type = $1 AND owner_id = $2 ORDER BY id',
      [type, id],
    )
  ).rows;
}

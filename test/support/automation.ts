import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import type { Database, Queryable } from '../../crm-core/db/database.js';
import { createLogger } from '../../lib/logger.js';
import { createScheduler, type Scheduler } from '../../router/automation/scheduler.js';
import { ADMIN_TOKEN } from './api-app.js';
import { send } from './crm.js';

/** A scheduler as the router role runs it, silent; tests call runOnce(now) with a fake clock instead of polling. */
export const testScheduler = (db: Database): Scheduler =>
  createScheduler({ db, logger: createLogger({ level: 'silent' }), pollMs: 60_000 });

/** Creates an automation rule through the admin API and returns its id. */
export async function createRule(app: FastifyInstance, rule: Record<string, unknown>): Promise<number> {
  const r = await send(app, 'POST', '/v1/admin/automation-rules', ADMIN_TOKEN, rule);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id;
}

export async function deleteRule(app: FastifyInstance, id: number): Promise<void> {
  const r = await app.inject({
    method: 'DELETE',
    url: `/v1/admin/automation-rules/${id}`,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(r.statusCode).toBe(204);
}

export const minutesAfter = (at: string | Date, min: number) =>
  new Date(new Date(at).getTime() + min * 60_000);

/** The automation records on an entity's timeline. */
export async function automationEntries(db: Queryable, type: string, id: number) {
  return (
    await db.query<{ subject: string; details: Record<string, unknown> }>(
      `SELECT subject, details FROM activities WHERE owner_type = $1 AND owner_id = $2 AND type = 'system'
          AND details->>'change' = 'automation' ORDER BY id`,
      [type, id],
    )
  ).rows;
}

export async function activity(db: Queryable, id: number) {
  return (
    await db.query<{
      id: number;
      responsible_id: number | null;
      state: string;
      owner_type: string;
      owner_id: number;
    }>('SELECT id, responsible_id, state, owner_type, owner_id FROM activities WHERE id = $1', [id])
  ).rows[0]!;
}

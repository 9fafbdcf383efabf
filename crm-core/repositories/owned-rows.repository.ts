import type { Queryable } from '../db/database.js';
import type { EntityRef } from './entity.repository.js';

/**
 * Everything that belongs to a lead, contact or company through (owner_type, owner_id) columns, in ONE list:
 * conversion and merge move exactly these rows. A table that gains owner columns (messenger conversations'
 * messages, say) is added here and every move carries it.
 */
export const OWNED_TABLES = ['identities', 'activities', 'conversations'] as const;
export type OwnedTable = (typeof OWNED_TABLES)[number];

/**
 * Locks the entity's rows in every owned table, plus the deals bound to it, without waiting (NOWAIT): a router
 * batch holding one of them (a call it is merging) makes this fail at once with 55P03, and the caller rolls back
 * and retries, instead of waiting while that batch waits for the entity lock the caller holds (a deadlock).
 */
export async function lockOwnedRows(db: Queryable, from: EntityRef): Promise<void> {
  for (const table of OWNED_TABLES) {
    await db.query(`SELECT 1 FROM ${table} WHERE owner_type = $1 AND owner_id = $2 FOR UPDATE NOWAIT`, [
      from.type,
      from.id,
    ]);
  }
  await db.query(`SELECT 1 FROM deals WHERE ${DEAL_COLUMN[from.type]} = $1 FOR UPDATE NOWAIT`, [from.id]);
}

/** Moves every owned row of `from` to `to`; returns the count per table. */
export async function moveOwnedRows(
  db: Queryable,
  from: EntityRef,
  to: EntityRef,
): Promise<Record<OwnedTable, number>> {
  const moved = {} as Record<OwnedTable, number>;
  for (const table of OWNED_TABLES) {
    const r = await db.query(
      `UPDATE ${table} SET owner_type = $3, owner_id = $4 WHERE owner_type = $1 AND owner_id = $2`,
      [from.type, from.id, to.type, to.id],
    );
    moved[table] = r.rowCount;
  }
  return moved;
}

const DEAL_COLUMN = { lead: 'lead_id', contact: 'contact_id', company: 'company_id' } as const;

/**
 * Deals bound to `from` are bound to `to`. A lead's deals keep lead_id (where they came from) and gain the
 * contact or company the lead became; a contact's or company's deals change that binding.
 */
export async function moveDeals(db: Queryable, from: EntityRef, to: EntityRef): Promise<number> {
  const r =
    from.type === 'lead' && to.type !== 'lead'
      ? await db.query(
          `UPDATE deals SET ${DEAL_COLUMN[to.type]} = COALESCE(${DEAL_COLUMN[to.type]}, $2), updated_at = now()
            WHERE lead_id = $1`,
          [from.id, to.id],
        )
      : await db.query(
          `UPDATE deals SET ${DEAL_COLUMN[to.type]} = $2, updated_at = now() WHERE ${DEAL_COLUMN[from.type]} = $1`,
          [from.id, to.id],
        );
  return r.rowCount;
}

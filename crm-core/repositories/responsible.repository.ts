import type { Queryable } from '../db/database.js';

const TABLE = { lead: 'leads', contact: 'contacts', company: 'companies' } as const;

/**
 * A client's responsible changes, and with it whatever work of theirs is still open: planned activities and the
 * activities of open conversations (the new responsible answers them). Completed history keeps who did it.
 */
export async function setResponsible(
  db: Queryable,
  ref: { type: keyof typeof TABLE; id: number },
  operatorId: number,
): Promise<void> {
  await db.query(
    `UPDATE ${TABLE[ref.type]} SET responsible_id = $2${ref.type === 'lead' ? ', updated_at = now()' : ''} WHERE id = $1`,
    [ref.id, operatorId],
  );
  await db.query(
    `UPDATE activities a SET responsible_id = $3, updated_at = now()
      WHERE a.owner_type = $1 AND a.owner_id = $2
        AND (a.state = 'planned'
             OR EXISTS (SELECT 1 FROM conversations c WHERE c.activity_id = a.id AND c.status = 'open'))`,
    [ref.type, ref.id, operatorId],
  );
}

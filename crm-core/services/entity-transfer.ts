import { AppError, isAppError } from '../../lib/errors.js';
import { RetriesExhaustedError, retry } from '../../lib/retry.js';
import type { Database, Queryable } from '../db/database.js';
import { supersedeCandidates } from '../repositories/duplicate.repository.js';
import { type EntityRef, repointEntityLinks } from '../repositories/entity.repository.js';
import {
  lockOwnedRows,
  moveDeals,
  moveOwnedRows,
  type OwnedTable,
} from '../repositories/owned-rows.repository.js';

export type TransferCounts = Record<OwnedTable | 'deals' | 'links', number>;

/**
 * Moving an entity's belongings (conversion of a lead, merge of a duplicate) while routers run. The protocol:
 * 1. the caller locks both entities FOR UPDATE (entity.repository lockEntities, one global order). The router
 *    locks every owner it resolves FOR KEY SHARE (identity.repository findOwners) before it writes, so a batch
 *    that got there first is waited for, and a batch that comes later waits and then reads the merge pointer
 *    (merged_into / converted_contact_id) and lands on the survivor;
 * 2. transferAll locks the entity's owned rows NOWAIT: a router batch can hold one of them (a call row it locked
 *    before it reached the entity lock); waiting for it would deadlock, so the transaction fails with 55P03,
 *    rolls back and is retried by inTransferTransaction after a short back-off;
 * 3. then everything moves in plain statements, which now wait for nothing.
 */
export async function transferAll(tx: Queryable, from: EntityRef, to: EntityRef): Promise<TransferCounts> {
  await lockOwnedRows(tx, from);
  const moved = await moveOwnedRows(tx, from, to);
  const deals = await moveDeals(tx, from, to);
  const links = await repointEntityLinks(tx, from, to);
  await supersedeCandidates(tx, from, to);
  return { ...moved, deals, links };
}

const BUSY_CODES = new Set(['55P03', '40P01', '40001']);
const busy = (err: unknown) =>
  (isAppError(err) && err.code === 'ENTITY_BUSY') ||
  BUSY_CODES.has(String((err as { code?: unknown })?.code));

/** One transaction for a conversion or merge, retried while routers hold the rows it must move (see above). */
export async function inTransferTransaction<T>(db: Database, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  try {
    return await retry(() => db.transaction(fn), {
      retries: 10,
      initialDelayMs: 20,
      maxDelayMs: 500,
      shouldRetry: busy,
    });
  } catch (err) {
    if (err instanceof RetriesExhaustedError) {
      throw new AppError('ENTITY_BUSY', 'id: the record is being written by the router; try again', {
        fields: ['id'],
        retryAfterSec: 1,
        cause: err.cause,
      });
    }
    throw err;
  }
}

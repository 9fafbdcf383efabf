import type { Queryable } from '../db/database.js';
import { getSetting, putSetting } from '../repositories/region.repository.js';

/**
 * What happens when a client whose lead was closed as junk contacts us again, as the business configures it
 * (app_settings 'junk_return', changed through PUT /v1/admin/settings/junk-return):
 * - 'new_lead' (default, as Bitrix24's "repeat lead"): the junk lead stays closed, a new lead is created and
 *   takes the client's identities over;
 * - 'reopen': the junk lead is reopened (status 'new', on its timeline) and the contact lands on it.
 */
export type JunkReturn = 'new_lead' | 'reopen';
export const JUNK_RETURNS: readonly JunkReturn[] = ['new_lead', 'reopen'];
export const JUNK_RETURN_DEFAULT: JunkReturn = 'new_lead';
const KEY = 'junk_return';

export async function getJunkReturn(db: Queryable): Promise<JunkReturn> {
  return parseJunkReturn(await getSetting<unknown>(db, KEY));
}

/** The stored value as a policy: anything unknown (or nothing) is the default. */
export const parseJunkReturn = (v: unknown): JunkReturn =>
  JUNK_RETURNS.includes(v as JunkReturn) ? (v as JunkReturn) : JUNK_RETURN_DEFAULT;

export async function setJunkReturn(db: Queryable, v: JunkReturn): Promise<void> {
  await putSetting(db, KEY, v);
}

import type { RealtimeNotice } from '../../realtime/hub.js';
import { presenceChanged, topic } from '../../realtime/notices.js';
import type { Queryable } from '../db/database.js';
import { operatorRegionIds } from '../repositories/notice.repository.js';
import { updateOperator } from '../repositories/operator.repository.js';

export type Presence = 'online' | 'away' | 'offline';

/**
 * An operator's availability. Only `online` operators get new contacts (router/operator-picker.ts); `away`
 * and `offline` keep their clients. Returns the notices for the operator's own consoles (other tabs) and their
 * regions (colleagues and supervisors see who is there; the region's queue may now wait longer), and the visitor
 * sockets (a widget whose region has nobody online any more asks visitors for a contact instead).
 */
export async function setPresence(
  db: Queryable,
  operatorId: number,
  status: Presence,
): Promise<RealtimeNotice[]> {
  await updateOperator(db, operatorId, { status });
  const data = { operatorId, status };
  return [
    { topic: topic.operator(operatorId), type: 'presence', data },
    ...(await operatorRegionIds(db, operatorId)).map((r) => ({
      topic: topic.region(r),
      type: 'presence',
      data,
    })),
    presenceChanged(operatorId, status),
  ];
}

import { AppError } from '../../lib/errors.js';
import type { RealtimeNotice } from '../../realtime/hub.js';
import { workChanged } from '../../realtime/notices.js';
import type { Database, Queryable } from '../db/database.js';
import { operatorCounters } from '../repositories/activity.repository.js';
import { listWork, type WorkRow } from '../repositories/console-work.repository.js';
import { getConversation } from '../repositories/conversation.repository.js';
import { lockEntities } from '../repositories/entity.repository.js';
import { setResponsible } from '../repositories/responsible.repository.js';
import {
  isActivityVisible,
  isEntityVisible,
  sharesRegion,
  type Viewer,
} from '../repositories/visibility.repository.js';
import { requireActiveOperator } from './deal.service.js';
import { recordChange } from './timeline.js';

/**
 * The console's "my work": what waits for the caller, longest-waiting client first, and the counters; taking a
 * client from the queue and transferring one to another operator.
 */
export interface WorkItem {
  kind: WorkRow['kind'];
  id: number;
  activityId: number | null;
  client: { entityType: string; entityId: number; name: string | null } | null;
  regionId: number | null;
  channel: string | null;
  preview: string | null;
  waitingSince: string | null;
  lastActivityAt: string;
  deadline: string | null;
  responsibleId: number | null;
  /** Nobody is responsible: it waits in the region's queue (take it with POST /v1/console/take). */
  queued: boolean;
}

const iso = (d: Date | null) => (d == null ? null : new Date(d).toISOString());
const PREVIEW_CHARS = 200;

export async function myWork(db: Database, v: Viewer, opts: { limit: number; tz: string; now?: Date }) {
  // Planned as costly (a union over the largest tables) yet done in tens of milliseconds: the service's
  // connections run with JIT off (crm-core/db/pg.ts), which bench/console-work.ts measured here (4.6 s of JIT
  // for 0.25 s of work).
  const rows = await listWork(db, v, opts.limit);
  const items: WorkItem[] = rows.map((r) => ({
    kind: r.kind,
    id: Number(r.id),
    activityId: r.activity_id == null ? null : Number(r.activity_id),
    client:
      r.owner_id != null && r.owner_type !== 'queue'
        ? { entityType: r.owner_type, entityId: r.owner_id, name: r.client_name }
        : null,
    regionId: r.region_id,
    channel: r.channel,
    preview: r.preview == null ? null : r.preview.slice(0, PREVIEW_CHARS),
    waitingSince: iso(r.waiting_since),
    lastActivityAt: iso(r.last_activity_at)!,
    deadline: iso(r.deadline),
    responsibleId: r.responsible_id,
    queued: r.responsible_id == null,
  }));
  const c =
    v.operatorId != null ? await operatorCounters(db, v.operatorId, opts.now ?? new Date(), opts.tz) : null;
  return {
    items,
    counters: c && {
      overdue: c.overdue,
      dueToday: c.due_today,
      withoutPlanned: c.leads_without_planned + c.deals_without_planned,
    },
  };
}

/** Whether the viewer may follow this conversation (its activity's visibility, as GET /v1/conversations/:id). */
export async function conversationVisible(db: Queryable, v: Viewer, id: number): Promise<boolean> {
  const c = await getConversation(db, id);
  return c != null && (await isActivityVisible(db, v, c.activity_id));
}

export type ClientRef = { type: 'lead' | 'contact' | 'company'; id: number };

const notFound = (ref: ClientRef) =>
  new AppError('NOT_FOUND', `entityId: ${ref.type} ${ref.id} not found`, { fields: ['entityId'] });

/**
 * Gives a client (and its planned work and open conversations) to `to`:
 * - take (`to` is the caller): only an unassigned client the caller sees, i.e. from their regions' queue;
 *   taken meanwhile by somebody else → 409;
 * - transfer by an operator: only a client they are responsible for;
 * - transfer by a supervisor: a client of their regions (or their own), only to an operator of their regions;
 * - the admin: anything to anybody active.
 * Returns the notices for the consoles of the previous and new responsible (or the region's queue).
 */
export async function giveClient(
  db: Database,
  v: Viewer,
  actorId: number,
  ref: ClientRef,
  to: number,
  mode: 'take' | 'transfer',
): Promise<{ from: number | null; to: number; notices: RealtimeNotice[] }> {
  return db.transaction(async (tx) => {
    const e = (await lockEntities(tx, [ref])).get(`${ref.type}:${ref.id}`);
    if (!e || !(await isEntityVisible(tx, v, ref.type, ref.id))) throw notFound(ref);
    if (e.merged_into_id != null || e.status === 'converted')
      throw new AppError('CONFLICT', `entityId: ${ref.type} ${ref.id} is closed (merged or converted)`, {
        fields: ['entityId'],
      });
    if (mode === 'take') {
      if (e.responsible_id === to) return { from: to, to, notices: [] };
      if (e.responsible_id != null)
        throw new AppError('CONFLICT', `entityId: ${ref.type} ${ref.id} is already another operator's`, {
          fields: ['entityId'],
        });
    } else if (v.role === 'operator' && e.responsible_id !== v.operatorId) {
      throw new AppError(
        'FORBIDDEN',
        `entityId: only the responsible operator or a supervisor transfers it`,
        {
          fields: ['entityId'],
        },
      );
    } else if (v.role === 'supervisor' && !(await sharesRegion(tx, v, to))) {
      throw new AppError('FORBIDDEN', `operatorId: operator ${to} works outside your regions`, {
        fields: ['operatorId'],
      });
    }
    await requireActiveOperator(tx, to, mode === 'take' ? 'operatorId' : 'operatorId');
    await setResponsible(tx, ref, to);
    await recordChange(
      tx,
      ref,
      mode === 'take' ? 'Taken from the queue' : 'Transferred to another operator',
      {
        change: 'responsible',
        from: e.responsible_id,
        to,
        by: { kind: 'operator', operatorId: actorId },
      },
    );
    return {
      from: e.responsible_id,
      to,
      notices: workChanged([
        { responsibleId: e.responsible_id, regionId: e.region_id },
        { responsibleId: to, regionId: e.region_id },
      ]),
    };
  });
}

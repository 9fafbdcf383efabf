import { ApiError, api } from './api.js';

/**
 * My work: what waits for me, from GET /v1/console/work (the server's one list across channels, with the
 * visibility rule applied), sorted here by how long the client has waited, longest first.
 */
export interface WorkItem {
  key: string;
  kind: string;
  title: string;
  preview?: string;
  channel?: string;
  entityType?: 'lead' | 'contact' | 'company';
  entityId?: number;
  conversationId?: number;
  activityId?: number;
  /** When the client started waiting (their unanswered message, the missed call, the callback's deadline). */
  since?: string;
  /** Nobody is responsible yet: it is in my regions' queue, to take. */
  queue: boolean;
}

export interface Counters {
  overdue: number;
  dueToday: number;
  withoutPlanned: number;
}

type Raw = Record<string, unknown>;
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

export function normalize(r: Raw): WorkItem {
  const client = (r.client ?? {}) as Raw;
  const entityType = (str(client.entityType) ??
    str(r.entityType) ??
    str(r.ownerType)) as WorkItem['entityType'];
  const entityId = num(client.entityId) ?? num(r.entityId) ?? num(r.ownerId);
  const kind = str(r.kind) ?? 'other';
  return {
    key: `${kind}:${num(r.id) ?? num(r.conversationId) ?? num(r.activityId) ?? entityId}`,
    kind,
    title: str(client.name) ?? str(r.title) ?? str(r.name) ?? '—',
    preview: str(r.preview),
    channel: str(r.channel),
    entityType,
    entityId,
    conversationId: num(r.conversationId) ?? (kind === 'conversation' ? num(r.id) : undefined),
    activityId: num(r.activityId),
    since: str(r.waitingSince) ?? str(r.since),
    queue: r.queued === true,
  };
}

/** Longest-waiting first; items nobody waits on (an answered conversation) last, in the server's order. */
export const byWaiting = (a: WorkItem, b: WorkItem) =>
  a.since && b.since ? Date.parse(a.since) - Date.parse(b.since) : a.since ? -1 : b.since ? 1 : 0;

export async function loadWork(): Promise<{ items: WorkItem[]; counters?: Counters }> {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const work = await api<{ items: Raw[]; counters?: Raw }>(
    'GET',
    `/v1/console/work?tz=${encodeURIComponent(tz)}`,
  ).catch((err) => {
    if (err instanceof ApiError && err.status === 404) return fallbackWork();
    throw err;
  });
  // The work list carries the counters; only an older server's fallback needs them asked for separately.
  const src =
    work.counters ??
    (await api<Raw>('GET', `/v1/operators/me/counters?tz=${encodeURIComponent(tz)}`).catch(() => undefined));
  const counters = src && {
    overdue: num(src.overdue) ?? 0,
    dueToday: num(src.dueToday) ?? 0,
    withoutPlanned:
      num(src.withoutPlanned) ?? (num(src.leadsWithoutPlanned) ?? 0) + (num(src.dealsWithoutPlanned) ?? 0),
  };
  return { items: work.items.map(normalize).sort(byWaiting), counters };
}

/**
 * A server without /v1/console/work (an API instance older than the console): the same list pieced together
 * from the endpoints every version has — open conversations, new leads, planned callbacks.
 */
async function fallbackWork(): Promise<{ items: Raw[]; counters?: Raw }> {
  const [conv, leads, callbacks] = await Promise.all([
    api<{ items: Raw[] }>('GET', '/v1/conversations?status=open&limit=100'),
    api<{ items: Raw[] }>('GET', '/v1/leads?status=new&limit=100'),
    api<{ items: Raw[] }>('GET', '/v1/activities?state=planned&type=callback&limit=100'),
  ]);
  return {
    items: [
      ...conv.items.map((c) => ({
        kind: 'conversation',
        id: c.id,
        title: c.chatId,
        channel: c.channel,
        ownerType: c.ownerType,
        ownerId: c.ownerId,
        waitingSince: c.lastInboundAt ?? c.lastMessageAt,
      })),
      ...leads.items.map((l) => ({
        kind: 'lead',
        id: l.id,
        client: { entityType: 'lead', entityId: l.id, name: l.name ?? l.title },
        channel: l.channel,
        queued: l.responsibleId === null,
        waitingSince: l.createdAt,
      })),
      ...callbacks.items.map((a) => ({
        kind: 'callback',
        id: a.id,
        title: a.subject,
        ownerType: a.ownerType,
        ownerId: a.ownerId,
        waitingSince: a.deadline ?? a.createdAt,
      })),
    ],
  };
}

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';
import { CardActions } from './card-actions.js';
import { useApp } from './context.js';
import { Conversation, type ConversationRow } from './conversation.js';
import type { Key } from './i18n.js';
import { throttle, WORK_REFETCH_EVERY_MS } from './throttle.js';
import { Timeline, type TimelineItem } from './timeline.js';

export type EntityType = 'lead' | 'contact' | 'company';
const PLURAL: Record<EntityType, string> = { lead: 'leads', contact: 'contacts', company: 'companies' };
export const pathOf = (type: EntityType, id: number) => `/v1/${PLURAL[type]}/${id}`;

export interface Client {
  id: number;
  name?: string | null;
  title?: string;
  status?: string;
  responsibleId?: number | null;
  identities: { kind: string; value: string; valid: boolean; bouncing: boolean }[];
  responsible: { id: number; name: string } | null;
  region: { id: number; name: string } | null;
  source?: { name?: string | null; channel?: string; key?: string };
}
interface Duplicate {
  id: number;
  chosen: { type: string; id: number; name: string | null };
  other: { type: string; id: number; name: string | null };
  identityKind: string;
  identityValue: string;
}

/**
 * One client: who they are (identities, region, responsible, possible duplicates), their open conversation
 * with the composer, and one timeline across channels. Everything is read through the API, which answers 404
 * for a client the operator may not see, so a URL typed by hand shows "not found" and nothing else.
 */
export function ClientCard({ type, id }: { type: EntityType; id: number }) {
  const { t, socket, flash } = useApp();
  const [client, setClient] = useState<Client | null | undefined>(undefined);
  const [timeline, setTimeline] = useState<TimelineItem[]>([]);
  const [duplicates, setDuplicates] = useState<Duplicate[]>([]);
  const [conversations, setConversations] = useState<ConversationRow[]>([]);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  /** This client's conversations: their notices reload the card (the timeline's activity states). */
  const shown = useRef(new Set<number>());

  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const [c, tl] = await Promise.all([
          api<Client>('GET', pathOf(type, id)),
          api<{ items: TimelineItem[] }>('GET', `${pathOf(type, id)}/timeline?limit=100`),
        ]);
        const [dups, convs] = await Promise.all([
          api<{ items: Duplicate[] }>('GET', '/v1/duplicates?state=open&limit=200').catch(() => ({
            items: [],
          })),
          api<{ items: ConversationRow[] }>('GET', '/v1/conversations?limit=200').catch(() => ({
            items: [],
          })),
        ]);
        if (!live) return;
        setClient(c);
        setTimeline(tl.items);
        const mine = (s: { type: string; id: number }) => s.type === type && s.id === id;
        setDuplicates(dups.items.filter((d) => mine(d.chosen) || mine(d.other)));
        const own = convs.items.filter((v) => v.ownerType === type && v.ownerId === id);
        shown.current = new Set(own.map((v) => v.id));
        setConversations(own);
      } catch (err) {
        if (!live) return;
        if (err instanceof ApiError && err.status === 404) setClient(null);
        else flash(`${t('error')}: ${(err as Error).message}`, 'error');
      }
    })();
    return () => {
      live = false;
    };
  }, [type, id, version]);

  // Anything that changes my work may be this client's: a new message, an email, a status. A burst of notices
  // (a batch of routed contacts) reloads the card once, and a stream of them every couple of seconds.
  useEffect(() => {
    const planned = throttle(reload, WORK_REFETCH_EVERY_MS, 200);
    const off = socket.on((n) => {
      if (n.type !== 'work.changed') return;
      // A conversation's message (the notice names it) changes this card only if it is this client's.
      if (n.conversationId === undefined || shown.current.has(Number(n.conversationId))) planned.trigger();
    });
    return () => {
      off();
      planned.cancel();
    };
  }, []);

  if (client === undefined) return <p class="muted">{t('loading')}</p>;
  if (client === null)
    return (
      <p class="empty" role="alert" data-testid="not-found">
        {t('notFound')}
      </p>
    );

  const open = conversations.find((c) => c.status === 'open') ?? conversations[0];
  const lastEmail = timeline.find((a) => a.type === 'email' && a.direction === 'inbound');
  return (
    <article class="card" aria-labelledby="client-name">
      <header class="card-head">
        <h1 id="client-name">{client.name ?? client.title ?? `#${client.id}`}</h1>
        <span class="badge">
          {type === 'lead' && client.status ? t(`status_${client.status}` as Key) : type}
        </span>
        <CardActions type={type} client={client} conversation={open} timeline={timeline} onChanged={reload} />
      </header>
      <div class="card-body">
        <aside class="facts">
          <h2>{t('identities')}</h2>
          <ul class="identities">
            {client.identities.map((i) => (
              <li key={`${i.kind}:${i.value}`} class={i.bouncing || !i.valid ? 'invalid' : ''}>
                <span class="muted">{i.kind}</span> {i.value}
              </li>
            ))}
          </ul>
          <dl>
            <dt>{t('region')}</dt>
            <dd>{client.region?.name ?? '—'}</dd>
            <dt>{t('responsible')}</dt>
            <dd>{client.responsible?.name ?? t('nobody')}</dd>
            {client.source && (
              <>
                <dt>{t('source')}</dt>
                <dd>{client.source.name ?? client.source.key ?? client.source.channel}</dd>
              </>
            )}
          </dl>
          {duplicates.length > 0 && (
            <>
              <h2>{t('duplicates')}</h2>
              <ul class="duplicates">
                {duplicates.map((d) => {
                  const o = d.chosen.type === type && d.chosen.id === id ? d.other : d.chosen;
                  return (
                    <li key={d.id}>
                      <a href={`#/${o.type}/${o.id}`}>{o.name ?? `${o.type} #${o.id}`}</a>{' '}
                      <span class="muted">
                        {d.identityKind} {d.identityValue}
                      </span>
                    </li>
                  );
                })}
              </ul>
            </>
          )}
        </aside>
        <section class="work-area">
          <Conversation
            key={open?.id ?? 0}
            owner={{ type, id }}
            conversation={open}
            email={lastEmail}
            onSent={reload}
          />
          <Timeline items={timeline} />
        </section>
      </div>
    </article>
  );
}

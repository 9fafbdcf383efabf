import { useEffect, useRef, useState } from 'preact/hooks';
import type { Route } from './app.js';
import { useApp } from './context.js';
import { duration, type Key } from './i18n.js';
import type { Notice } from './socket.js';
import { throttle, WORK_REFETCH_EVERY_MS, WORK_TOUCH_REFETCH_EVERY_MS } from './throttle.js';
import { byWaiting, type Counters, loadWork, type WorkItem } from './work.js';

const KINDS = new Set(['conversation', 'lead', 'email', 'missed_call', 'callback']);

/** The live work list: refetched on `work.changed` (throttled: console/ui/throttle.ts) and after every reconnect. */
export function WorkList({ current }: { current: Route }) {
  const { t, lang, socket, flash } = useApp();
  const [items, setItems] = useState<WorkItem[] | null>(null);
  const [counters, setCounters] = useState<Counters | undefined>();
  const [, tick] = useState(0);
  const listed = useRef<WorkItem[] | null>(null);
  const show = (list: WorkItem[]) => {
    listed.current = list;
    setItems(list);
  };

  useEffect(() => {
    const refresh = () =>
      loadWork()
        .then((w) => {
          show(w.items);
          setCounters(w.counters);
        })
        .catch((err) => flash(`${t('error')}: ${(err as Error).message}`, 'error'));
    void refresh();
    const planned = throttle(refresh, WORK_REFETCH_EVERY_MS);
    const slow = throttle(refresh, WORK_TOUCH_REFETCH_EVERY_MS, WORK_TOUCH_REFETCH_EVERY_MS);
    /** A listed conversation's notice (realtime/notices.ts conversationTouched): patch it, no refetch. */
    const touch = (n: Notice): boolean => {
      const list = listed.current;
      const i = list?.findIndex((w) => w.key === `conversation:${n.conversationId}`) ?? -1;
      if (!list || i < 0) return false;
      const next = [...list];
      next[i] = {
        ...list[i]!,
        preview: typeof n.preview === 'string' ? n.preview : list[i]!.preview,
        since: n.waiting === true && typeof n.at === 'string' ? n.at : undefined,
      };
      show(next.sort(byWaiting));
      slow.trigger();
      return true;
    };
    const off = socket.on((n) => {
      if (n.type !== 'work.changed' && n.type !== 'open' && n.type !== 'counters') return;
      if (n.type === 'work.changed' && typeof n.conversationId === 'number' && touch(n)) return;
      planned.trigger();
    });
    // The waiting times move on while nothing happens.
    const clock = setInterval(() => tick((x) => x + 1), 30_000);
    return () => {
      off();
      clearInterval(clock);
      planned.cancel();
      slow.cancel();
    };
  }, []);

  const now = Date.now();
  const isCurrent = (w: WorkItem) =>
    current.name === 'client' && current.type === w.entityType && current.id === w.entityId;

  return (
    <nav class="work" aria-labelledby="work-title">
      <h2 id="work-title">{t('myWork')}</h2>
      {counters && (
        <dl class="counters">
          <div class={counters.overdue ? 'bad' : ''}>
            <dt>{t('overdue')}</dt>
            <dd data-counter="overdue">{counters.overdue}</dd>
          </div>
          <div>
            <dt>{t('dueToday')}</dt>
            <dd data-counter="dueToday">{counters.dueToday}</dd>
          </div>
          <div>
            <dt>{t('withoutPlanned')}</dt>
            <dd data-counter="withoutPlanned">{counters.withoutPlanned}</dd>
          </div>
        </dl>
      )}
      {items === null ? (
        <p class="muted">{t('loading')}</p>
      ) : items.length === 0 ? (
        <p class="muted">{t('nothingToDo')}</p>
      ) : (
        <ol class="items">
          {items.map((w, i) => (
            <li key={w.key}>
              <a
                href={w.entityType && w.entityId ? `#/${w.entityType}/${w.entityId}` : '#/'}
                class={`item ${isCurrent(w) ? 'current' : ''}`}
                aria-current={isCurrent(w) ? 'page' : undefined}
                data-hotkey={i === 0 ? 'w' : undefined}
                data-kind={w.kind}
              >
                <span class={`kind k-${w.kind}`}>
                  {t(`kind_${KINDS.has(w.kind) ? w.kind : 'other'}` as Key)}
                </span>
                {w.channel && <span class="channel">{w.channel}</span>}
                {w.queue && <span class="queue">{t('unassigned')}</span>}
                {w.since && (
                  <span class="wait">{t('waiting', { t: duration(now - Date.parse(w.since), lang) })}</span>
                )}
                <strong class="title">{w.title}</strong>
                {w.preview && <span class="preview">{w.preview}</span>}
              </a>
            </li>
          ))}
        </ol>
      )}
    </nav>
  );
}

import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import type { Client, EntityType } from './client-card.js';
import { useApp } from './context.js';
import type { ConversationRow } from './conversation.js';
import type { Key } from './i18n.js';
import type { TimelineItem } from './timeline.js';

const SETTABLE = ['new', 'in_progress', 'junk'] as const;

/** A datetime-local value (the operator's own clock) for a Date. */
const localInput = (d: Date) =>
  new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

/**
 * What the operator does to the client: take them from the queue, transfer them, close the conversation,
 * complete or reschedule the planned callback, move the lead's status. Each is one REST call (with the CSRF
 * token); the card reloads after it, and the socket's `work.changed` updates the work list.
 */
export function CardActions(props: {
  type: EntityType;
  client: Client;
  conversation?: ConversationRow;
  timeline: TimelineItem[];
  onChanged(): void;
}) {
  const { me, t, flash } = useApp();
  const { type, client, conversation } = props;
  const [colleagues, setColleagues] = useState<{ id: number; name: string }[]>([]);
  const [junk, setJunk] = useState(false);
  const reason = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (junk) reason.current?.focus();
  }, [junk]);
  const callback = props.timeline.find((a) => a.type === 'callback' && a.state === 'planned');
  const [when, setWhen] = useState(() => localInput(new Date(Date.now() + 3_600_000)));

  useEffect(() => {
    api<{ items: { id: number; name: string }[] }>('GET', '/v1/console/operators')
      .then((r) => setColleagues(r.items.filter((o) => o.id !== me.operator?.id)))
      .catch(() => setColleagues([]));
  }, []);

  async function run(action: () => Promise<unknown>) {
    try {
      await action();
      flash(t('done'));
      props.onChanged();
    } catch (err) {
      flash(`${t('error')}: ${(err as Error).message}`, 'error');
    }
  }
  const ref = { entityType: type, entityId: client.id };

  return (
    <div class="actions" role="toolbar" aria-label="actions">
      {client.responsible === null && (
        <button
          type="button"
          class="primary"
          data-hotkey="t"
          onClick={() => run(() => api('POST', '/v1/console/take', ref))}
        >
          {t('take')}
        </button>
      )}
      {colleagues.length > 0 && (
        <label>
          <span class="sr">{t('transferTo')}</span>
          <select
            value=""
            aria-label={t('transferTo')}
            onChange={(e) => {
              const operatorId = Number(e.currentTarget.value);
              if (operatorId) void run(() => api('POST', '/v1/console/transfer', { ...ref, operatorId }));
            }}
          >
            <option value="">{t('transfer')}…</option>
            {colleagues.map((o) => (
              <option key={o.id} value={o.id}>
                {o.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {conversation?.status === 'open' && (
        <button
          type="button"
          data-hotkey="c"
          onClick={() => run(() => api('POST', `/v1/conversations/${conversation.id}/close`))}
        >
          {t('close')}
        </button>
      )}
      {callback && (
        <span class="callback">
          <button
            type="button"
            onClick={() =>
              run(() => api('POST', `/v1/activities/${callback.id}/complete`, { result: 'done' }))
            }
          >
            {t('complete')} ↩
          </button>
          <input
            type="datetime-local"
            aria-label={t('reschedule')}
            value={when}
            onInput={(e) => setWhen(e.currentTarget.value)}
          />
          <button
            type="button"
            onClick={() =>
              run(() =>
                api('PATCH', `/v1/activities/${callback.id}`, { deadline: new Date(when).toISOString() }),
              )
            }
          >
            {t('reschedule')}
          </button>
        </span>
      )}
      {type === 'lead' && client.status && SETTABLE.includes(client.status as (typeof SETTABLE)[number]) && (
        <label>
          <span class="sr">{t('leadStatus')}</span>
          <select
            aria-label={t('leadStatus')}
            value={client.status}
            onChange={(e) => {
              const status = e.currentTarget.value;
              if (status === 'junk') return setJunk(true);
              void run(() => api('PATCH', `/v1/leads/${client.id}/status`, { status }));
            }}
          >
            {SETTABLE.map((s) => (
              <option key={s} value={s}>
                {t(`status_${s}` as Key)}
              </option>
            ))}
          </select>
        </label>
      )}
      {junk && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            const reason = String(new FormData(e.currentTarget).get('reason') ?? '').trim();
            if (reason)
              void run(() => api('PATCH', `/v1/leads/${client.id}/status`, { status: 'junk', reason }));
            setJunk(false);
          }}
        >
          <input
            name="reason"
            required
            maxLength={500}
            placeholder={t('junkReason')}
            aria-label={t('junkReason')}
            ref={reason}
          />
          <button type="submit">{t('save')}</button>
        </form>
      )}
    </div>
  );
}

import { useApp } from './context.js';
import { dateTime } from './i18n.js';

export interface TimelineItem {
  id: number;
  type: string;
  direction: string | null;
  state: string;
  subject: string | null;
  body: string | null;
  deadline: string | null;
  channel: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}

/** Glyphs every system font has (no emoji font on many Linux desktops). */
const ICON: Record<string, string> = {
  call: '☎',
  email: '✉',
  message: '✆',
  form: '≡',
  callback: '↺',
  note: '✎',
  task: '☑',
  meeting: '◎',
  system: '⚙',
};

/** Recording link of a call, when the PBX gave one (details.call.recordingUrl). */
function recording(a: TimelineItem): string | undefined {
  const call = a.details.call as { recordingUrl?: unknown } | undefined;
  const url = typeof call?.recordingUrl === 'string' ? call.recordingUrl : undefined;
  return url && /^https?:\/\//.test(url) ? url : undefined;
}

/** One history across channels, newest first: calls, emails, chats, forms, callbacks, notes. */
export function Timeline({ items }: { items: TimelineItem[] }) {
  const { t, lang } = useApp();
  return (
    <section class="timeline" aria-labelledby="timeline-title">
      <h2 id="timeline-title">{t('timeline')}</h2>
      {items.length === 0 && <p class="muted">{t('emptyTimeline')}</p>}
      <ol>
        {items.map((a) => {
          const rec = recording(a);
          return (
            <li
              key={a.id}
              class={`act a-${a.type} ${a.type === 'note' ? 'internal' : ''}`}
              data-type={a.type}
            >
              <span class="icon" aria-hidden="true">
                {ICON[a.type] ?? '•'}
              </span>
              <div>
                <div class="act-head">
                  <strong>{a.subject ?? a.type}</strong>
                  {a.channel && <span class="muted"> · {a.channel}</span>}
                  {a.direction && <span class="muted"> · {a.direction}</span>}
                  <time class="muted">{dateTime(a.createdAt, lang)}</time>
                </div>
                {a.state === 'planned' && (
                  <span class="planned">
                    {t('planned')}
                    {a.deadline ? ` · ${t('due', { t: dateTime(a.deadline, lang) })}` : ''}
                  </span>
                )}
                {a.body && (
                  <p class="act-body">{a.body.length > 400 ? `${a.body.slice(0, 400)}…` : a.body}</p>
                )}
                {rec && (
                  <a href={rec} target="_blank" rel="noreferrer noopener">
                    ▶ recording
                  </a>
                )}
              </div>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

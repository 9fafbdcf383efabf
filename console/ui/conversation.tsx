import { useEffect, useRef, useState } from 'preact/hooks';
import { api, idempotencyKey } from './api.js';
import { type EntityType, pathOf } from './client-card.js';
import { useApp } from './context.js';
import { dateTime, type Key } from './i18n.js';
import type { TimelineItem } from './timeline.js';

export interface ConversationRow {
  id: number;
  channel: string;
  chatId: string;
  ownerType: string;
  ownerId: number | null;
  status: string;
}
interface Message {
  id: number;
  direction: string;
  text: string | null;
  status: string | null;
  occurredAt?: string;
  sentAt?: string;
  error?: unknown;
}
interface Canned {
  id: number;
  title: string;
  body: string;
}
type Mode = 'reply' | 'email' | 'note';

/**
 * The client's open conversation (messages live: new ones, delivery status, the client typing) and one
 * composer for every way to answer: the conversation's channel, an email reply, or an internal note that never
 * leaves the CRM. Canned answers fill the text; Ctrl+Enter sends.
 */
export function Conversation(props: {
  owner: { type: EntityType; id: number };
  conversation?: ConversationRow;
  email?: TimelineItem;
  onSent(): void;
}) {
  const { t, lang, socket, flash } = useApp();
  const conv = props.conversation;
  const [messages, setMessages] = useState<Message[]>([]);
  const [typing, setTyping] = useState(false);
  const [canned, setCanned] = useState<Canned[]>([]);
  const modes: Mode[] = [
    ...(conv?.status === 'open' ? (['reply'] as const) : []),
    ...(props.email ? (['email'] as const) : []),
    'note',
  ];
  const [mode, setMode] = useState<Mode>(modes[0]!);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const box = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);
  const list = useRef<HTMLOListElement>(null);

  useEffect(() => {
    api<{ items: Canned[] }>('GET', `/v1/canned-answers?language=${lang}`)
      .then((r) => setCanned(r.items))
      .catch(() => setCanned([]));
    if (!conv) return;
    const load = () =>
      api<{ items: Message[] }>('GET', `/v1/conversations/${conv.id}`).then((r) => setMessages(r.items));
    void load();
    socket.subscribe(conv.id);
    let typingTimer: ReturnType<typeof setTimeout> | undefined;
    const off = socket.on((n) => {
      if (n.type === 'open') return void load();
      if (n.conversationId !== conv.id) return;
      if (n.type === 'message.created') {
        const m = n.message as Message;
        setMessages((ms) => (ms.some((x) => x.id === m.id) ? ms : [...ms, m]));
        setTyping(false);
      } else if (n.type === 'message.status') {
        setMessages((ms) =>
          ms.map((x) => (x.id === n.messageId ? { ...x, status: String(n.status), error: n.error } : x)),
        );
      } else if (n.type === 'typing' && n.who !== 'operator') {
        setTyping(true);
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => setTyping(false), 4000);
      }
    });
    return () => {
      off();
      clearTimeout(typingTimer);
      socket.unsubscribe(conv.id);
    };
  }, [conv?.id]);

  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: 'nearest' });
  }, [messages.length]);

  // A live-chat visitor sees their messages read once they are on this screen in a visible tab.
  const readUpTo = useRef({ conversationId: 0, upTo: 0 });
  useEffect(() => {
    if (conv?.channel !== 'webchat') return;
    const report = () => {
      const newest = Math.max(0, ...messages.filter((m) => m.direction === 'inbound').map((m) => m.id));
      const seen = readUpTo.current;
      if (seen.conversationId !== conv.id) Object.assign(seen, { conversationId: conv.id, upTo: 0 });
      if (document.hidden || newest <= seen.upTo) return;
      seen.upTo = newest;
      socket.send({ type: 'read', conversationId: conv.id, upTo: newest });
    };
    report();
    document.addEventListener('visibilitychange', report);
    return () => document.removeEventListener('visibilitychange', report);
  }, [conv?.id, messages]);

  function onInput(value: string) {
    setText(value);
    if (conv && mode === 'reply' && Date.now() - lastTyping.current > 3000) {
      lastTyping.current = Date.now();
      socket.send({ type: 'typing', conversationId: conv.id });
    }
  }

  async function send() {
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    try {
      if (mode === 'reply' && conv) {
        const r = await api<{ messageId: number; status: string }>(
          'POST',
          `/v1/conversations/${conv.id}/messages`,
          { text: body },
          { 'idempotency-key': idempotencyKey() },
        );
        setMessages((ms) =>
          ms.some((x) => x.id === r.messageId)
            ? ms.map((x) => (x.id === r.messageId && !x.status ? { ...x, status: r.status } : x))
            : [
                ...ms,
                {
                  id: r.messageId,
                  direction: 'outbound',
                  text: body,
                  status: r.status,
                  sentAt: new Date().toISOString(),
                },
              ],
        );
      } else if (mode === 'email' && props.email) {
        await api(
          'POST',
          `/v1/activities/${props.email.id}/reply`,
          { text: body },
          {
            'idempotency-key': idempotencyKey(),
          },
        );
        props.onSent();
      } else {
        const subject = body.split('\n')[0]!.slice(0, 80);
        await api('POST', `${pathOf(props.owner.type, props.owner.id)}/activities`, {
          type: 'note',
          subject,
          body,
        });
        props.onSent();
      }
      setText('');
      flash(t('done'));
    } catch (err) {
      flash(`${t('error')}: ${(err as Error).message}`, 'error');
    } finally {
      setBusy(false);
      box.current?.focus();
    }
  }

  const placeholder = mode === 'reply' ? t('typeMessage') : mode === 'email' ? t('typeEmail') : t('typeNote');
  return (
    <section class="conversation" aria-label={t('conversation')}>
      {conv && (
        <>
          <h2>
            {t('conversation')} · {conv.channel}
            {conv.status !== 'open' && <span class="muted"> · {t('conversationClosed')}</span>}
          </h2>
          <ol class="messages" ref={list} aria-live="polite">
            {messages.map((m) => (
              <li
                key={m.id}
                class={`msg ${m.direction === 'inbound' || m.direction === 'in' ? 'in' : 'out'}`}
              >
                <p>{m.text ?? '[file]'}</p>
                <span class="meta">
                  {dateTime(m.occurredAt ?? m.sentAt ?? new Date().toISOString(), lang)}
                  {m.direction !== 'inbound' && m.direction !== 'in' && m.status && (
                    <span class={`status s-${m.status}`} data-status={m.status}>
                      {' · '}
                      {t(`msg_${m.status}` as Key) ?? m.status}
                    </span>
                  )}
                </span>
              </li>
            ))}
          </ol>
          {typing && <p class="typing muted">{t('typing')}</p>}
        </>
      )}
      <fieldset class="composer">
        <legend class="sr">{t('reply')}</legend>
        <div class="tabs" role="tablist">
          {modes.map((m) => (
            <button
              key={m}
              type="button"
              role="tab"
              aria-selected={mode === m}
              data-hotkey={m === 'note' ? 'n' : undefined}
              onClick={() => {
                setMode(m);
                box.current?.focus();
              }}
            >
              {t(m === 'reply' ? 'reply' : m === 'email' ? 'email' : 'note')}
            </button>
          ))}
          {canned.length > 0 && mode !== 'note' && (
            <select
              class="canned"
              aria-label={t('cannedAnswers')}
              value=""
              onChange={(e) => {
                const c = canned.find((x) => String(x.id) === e.currentTarget.value);
                if (c) setText((v) => (v ? `${v}\n${c.body}` : c.body));
                box.current?.focus();
              }}
            >
              <option value="">{t('cannedAnswers')}</option>
              {canned.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.title}
                </option>
              ))}
            </select>
          )}
        </div>
        {mode === 'note' && <p class="hint">{t('noteHint')}</p>}
        <textarea
          ref={box}
          data-hotkey="r"
          class={mode === 'note' ? 'note' : ''}
          rows={3}
          maxLength={4096}
          placeholder={placeholder}
          aria-label={placeholder}
          value={text}
          onInput={(e) => onInput(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void send();
            }
          }}
        />
        <button type="button" class="primary" disabled={busy || !text.trim()} onClick={() => void send()}>
          {busy ? t('sending') : mode === 'note' ? t('addNote') : t('send')}
        </button>
      </fieldset>
    </section>
  );
}

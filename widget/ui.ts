import type { LivechatMessage, WidgetConfig } from '../connectors/livechat/protocol.js';
import { css } from './styles.js';
import { DEFAULT_TEXTS, type Texts } from './texts.js';

type Shown = Omit<LivechatMessage, 'id'> & { id?: number };

export interface UiActions {
  send(text: string): { clientId: string; sentAt: string };
  sendContact(c: { name?: string; phone?: string; email?: string }): void;
  typing(): void;
  /** Tells the server the visitor saw replies up to this id; false when not connected (tried again later). */
  read(upTo: number): boolean;
}

const h = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const ICON =
  '<svg viewBox="0 0 24 24"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';

/**
 * The widget's screen, in a shadow root on a host element of its own: a launcher, and a panel with the
 * conversation, the operator's typing, the pre-chat (or, when nobody is online, the contact) form and the
 * composer. Messages are kept once each, by id and by the visitor's clientId.
 */
export function createUi(lang: 'ru' | 'en', actions: UiActions, contactGiven: () => boolean) {
  // A tag of its own: page rules for div, button... never match the host; the shadow root does the rest.
  const host = document.createElement('crm-livechat');
  const root = host.attachShadow({ mode: 'open' });
  const style = h('style');
  const launcher = h('button', 'launcher');
  const badge = h('span', 'badge');
  const panel = h('div', 'panel');
  const header = h('header');
  const title = h('b');
  const dot = h('span', 'dot');
  const closeBtn = h('button', undefined, '×');
  const log = h('div', 'log');
  const typingLine = h('div', 'typing');
  const composer = h('form');
  const input = h('textarea');
  const sendBtn = h('button', 'send');
  const pre = h('form', 'pre');
  let t: Texts = DEFAULT_TEXTS[lang];
  let config: WidgetConfig = { colors: {}, texts: {}, preChat: { fields: [], required: [] } };
  let online = true;
  let unread = 0;
  let typingTimer: number | undefined;
  let typedAt = 0;
  let newestOut = 0;
  let readUpTo = 0;
  const byId = new Map<number, HTMLElement>();
  const byClient = new Map<string, HTMLElement>();

  launcher.innerHTML = ICON;
  launcher.append(badge);
  input.rows = 1;
  sendBtn.type = 'submit';
  const headLeft = h('span');
  headLeft.append(dot, title);
  header.append(headLeft, closeBtn);
  composer.append(input, sendBtn);
  panel.append(header, log, typingLine, pre, composer);
  root.append(style, launcher, panel);

  function paint() {
    style.textContent = css(config.colors.primary ?? '#2563eb', config.colors.text ?? '#ffffff');
    t = { ...DEFAULT_TEXTS[lang], ...config.texts[lang] };
    title.textContent = t.title;
    input.placeholder = t.placeholder;
    sendBtn.textContent = t.send;
    launcher.setAttribute('aria-label', t.open);
    closeBtn.setAttribute('aria-label', t.close);
    dot.className = online ? 'dot on' : 'dot';
    const note = log.querySelector('.note');
    if (note) note.textContent = online ? t.greeting : t.offline;
    buildPreChat();
  }

  /** Fields asked before the first message; with nobody online, a way to answer (phone or email) is asked too. */
  function preChatFields(): { fields: string[]; required: string[] } {
    const p = config.preChat;
    if (online) return p;
    const fields = [...new Set([...p.fields, 'name', 'phone', 'email'])];
    return { fields, required: p.required };
  }

  function buildPreChat(problem = '') {
    const { fields, required } = preChatFields();
    // Rebuilt when presence changes: what the visitor already typed stays.
    const typed = new Map(Array.from(pre.querySelectorAll('input'), (i) => [i.name, i.value]));
    const show = fields.length > 0 && !contactGiven();
    pre.replaceChildren();
    pre.style.display = show ? '' : 'none';
    composer.style.display = show ? 'none' : '';
    if (!show) return;
    pre.append(h('div', undefined, t.preChatIntro));
    const inputs = new Map<string, HTMLInputElement>();
    for (const f of fields) {
      const i = h('input');
      i.name = f;
      i.type = f === 'email' ? 'email' : f === 'phone' ? 'tel' : 'text';
      i.placeholder = (t as unknown as Record<string, string>)[f] + (required.includes(f) ? ' *' : '');
      i.value = typed.get(f) ?? '';
      inputs.set(f, i);
      pre.append(i);
    }
    const err = h('div', 'err', problem);
    const start = h('button', 'send', t.start);
    start.type = 'submit';
    pre.append(err, start);
    pre.onsubmit = (e) => {
      e.preventDefault();
      const v = (f: string) => inputs.get(f)?.value.trim() || undefined;
      const missing = required.find((f) => !v(f));
      if (missing) {
        err.textContent = t.required;
        inputs.get(missing)?.focus();
        return;
      }
      if (!online && !v('phone') && !v('email')) {
        err.textContent = t.contactNeeded;
        return;
      }
      actions.sendContact({ name: v('name'), phone: v('phone'), email: v('email') });
      pre.style.display = 'none';
      composer.style.display = '';
      input.focus();
    };
  }

  function show(m: Shown) {
    let el = (m.id !== undefined && byId.get(m.id)) || (m.clientId && byClient.get(m.clientId));
    if (!el) {
      el = h('div', `msg ${m.direction}`);
      if (m.direction === 'out' && m.author) el.append(h('span', 'who', m.author));
      el.append(document.createTextNode(m.text));
      log.append(el);
      log.scrollTop = log.scrollHeight;
      if (m.direction === 'out' && !panel.classList.contains('open')) {
        unread += 1;
        badge.textContent = String(unread);
        badge.style.display = 'flex';
      }
      if (m.direction === 'out') typingLine.textContent = '';
    }
    if (m.id !== undefined) {
      el.classList.remove('pending');
      el.dataset.id = String(m.id);
      byId.set(m.id, el);
    }
    if (m.clientId) byClient.set(m.clientId, el);
    if (m.direction === 'out' && m.id !== undefined && m.id > newestOut) {
      newestOut = m.id;
      markRead();
    }
  }

  /** Replies count as read once shown in the open panel of a visible page. */
  function markRead() {
    if (!panel.classList.contains('open') || document.hidden || newestOut <= readUpTo) return;
    if (actions.read(newestOut)) readUpTo = newestOut;
  }

  function toggle(open: boolean) {
    panel.classList.toggle('open', open);
    if (open) {
      unread = 0;
      badge.style.display = 'none';
      input.focus();
      markRead();
    }
  }
  document.addEventListener('visibilitychange', markRead);

  launcher.onclick = () => toggle(!panel.classList.contains('open'));
  closeBtn.onclick = () => toggle(false);
  composer.onsubmit = (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    const p = actions.send(text);
    show({ clientId: p.clientId, direction: 'in', text, sentAt: p.sentAt });
    byClient.get(p.clientId)?.classList.add('pending');
  };
  input.onkeydown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      composer.requestSubmit();
    }
  };
  input.oninput = () => {
    if (Date.now() - typedAt > 2_000) {
      typedAt = Date.now();
      actions.typing();
    }
  };
  log.append(h('div', 'note'));
  paint();

  return {
    mount: () => document.body.append(host),
    unmount: () => host.remove(),
    hello(c: WidgetConfig, isOnline: boolean) {
      config = c;
      online = isOnline;
      paint();
      host.toggleAttribute('data-online', online);
    },
    /** An operator came online or the last one left: the dot, the note and the form follow. */
    online(isOnline: boolean) {
      online = isOnline;
      paint();
      host.toggleAttribute('data-online', online);
    },
    show,
    pending(clientId: string, text: string, sentAt: string) {
      show({ clientId, direction: 'in', text, sentAt });
      byClient.get(clientId)?.classList.add('pending');
    },
    acked(clientId: string, id?: number) {
      const el = byClient.get(clientId);
      el?.classList.remove('pending');
      if (el && id !== undefined) byId.set(id, el);
    },
    failed(clientId: string) {
      byClient.get(clientId)?.classList.add('failed');
    },
    /** The server refused to start without the form (or refused the contact): it is shown again. */
    askContact(message?: string) {
      buildPreChat(message ?? t.required);
      pre.querySelector('input')?.focus();
    },
    /** The operator read the visitor's messages up to this id: they get a double tick. */
    readByOperator(upTo: number) {
      for (const [id, el] of byId) if (id <= upTo && el.classList.contains('in')) el.classList.add('read');
    },
    typing() {
      typingLine.textContent = t.typing;
      clearTimeout(typingTimer);
      typingTimer = window.setTimeout(() => {
        typingLine.textContent = '';
      }, 4_000);
    },
    status(connected: boolean) {
      host.toggleAttribute('data-connected', connected);
      // Grey while the connection is being re-established; messages written meanwhile wait as pending.
      dot.className = connected && online ? 'dot on' : 'dot';
      if (connected) markRead();
    },
  };
}

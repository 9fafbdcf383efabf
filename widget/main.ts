import { createConnection } from './connection.js';
import { createStore } from './store.js';
import { createUi } from './ui.js';

/**
 * The embeddable live chat: <script src="https://crm.example/widget.js" data-widget="KEY" async></script>.
 * It needs nothing from the host page: its server is where the script came from, its look comes with the
 * socket's hello (the widget's settings), its language from data-lang or the browser.
 */
// Only while this script runs; start() may run later, after the page is parsed.
const current = document.currentScript as HTMLScriptElement | null;

function start() {
  const script =
    current ?? document.querySelector<HTMLScriptElement>('script[data-widget][src*="widget.js"]');
  const key = script?.dataset.widget;
  if (!script || !key) return;
  const base = new URL(script.src, location.href).origin;
  const want = script.dataset.lang ?? navigator.language ?? 'en';
  const lang = want.toLowerCase().startsWith('ru') ? 'ru' : 'en';
  const store = createStore(key);
  const ui = createUi(
    lang,
    {
      send: (text) => conn.send(text),
      sendContact: (c) => conn.sendContact(c),
      typing: () => conn.typing(),
      read: (upTo) => conn.read(upTo),
    },
    store.contactGiven,
  );
  const conn = createConnection(base, key, store, {
    hello: (config, online) => ui.hello(config, online),
    online: (online) => ui.online(online),
    read: (upTo) => ui.readByOperator(upTo),
    message: (m) => ui.show(m),
    acked: (clientId, id) => ui.acked(clientId, id),
    failed: (clientId) => ui.failed(clientId),
    typing: () => ui.typing(),
    askContact: (message) => ui.askContact(message),
    status: (connected) => ui.status(connected),
    refused: () => ui.unmount(),
  });
  ui.mount();
  // Messages written on an earlier page and never acknowledged: shown as pending, sent once connected.
  for (const p of conn.pending()) ui.pending(p.clientId, p.text, p.sentAt);
  conn.connect();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();

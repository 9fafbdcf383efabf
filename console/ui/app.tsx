import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, setCsrfToken, whenSignedOut } from './api.js';
import { ClientCard } from './client-card.js';
import { AppContext, type Ctx, type Me, useApp } from './context.js';
import { Header } from './header.js';
import { initialLang, type Lang, saveLang, translator } from './i18n.js';
import { NewCaller, type Ringing } from './new-caller.js';
import { ChangePassword, SignIn } from './sign-in.js';
import { ConsoleSocket } from './socket.js';
import { WorkList } from './work-list.js';

/**
 * The console: sign-in, then the shell (header, my work on the left, the open card on the right). Where the
 * operator is lives in the URL's hash (#/lead/12, #/contact/3, #/caller, #/password), so a reload or a link
 * opens the same card, and a card the operator may not see is answered by the API as not found.
 */
export type Route =
  | { name: 'home' }
  | { name: 'client'; type: 'lead' | 'contact' | 'company'; id: number }
  | { name: 'caller' }
  | { name: 'password' };

export function parseRoute(hash: string): Route {
  const m = /^#\/(lead|contact|company)\/(\d{1,10})$/.exec(hash);
  if (m) return { name: 'client', type: m[1] as 'lead' | 'contact' | 'company', id: Number(m[2]) };
  if (hash === '#/caller') return { name: 'caller' };
  if (hash === '#/password') return { name: 'password' };
  return { name: 'home' };
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [lang, setLang] = useState<Lang>(initialLang);
  const t = translator(lang);
  useEffect(() => {
    saveLang(lang);
    document.title = t('appName');
  }, [lang]);
  useEffect(() => {
    whenSignedOut(() => setMe(null));
    api<Me>('GET', '/v1/me')
      .then(signedIn)
      .catch(() => setMe(null));
  }, []);
  function signedIn(m: Me) {
    setCsrfToken(m.csrfToken ?? '');
    setMe(m);
  }
  if (me === undefined) return <p class="loading">{t('loading')}</p>;
  if (!me) return <SignIn t={t} lang={lang} setLang={setLang} onSignedIn={signedIn} />;
  return <Shell me={me} lang={lang} setLang={setLang} onSignedOut={() => setMe(null)} />;
}

function Shell(props: { me: Me; lang: Lang; setLang(l: Lang): void; onSignedOut(): void }) {
  const { me, lang } = props;
  const socket = useMemo(() => new ConsoleSocket(props.onSignedOut), []);
  const [route, setRoute] = useState<Route>(() => parseRoute(location.hash));
  const [ringing, setRinging] = useState<Ringing | null>(null);
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' } | null>(null);
  const [help, setHelp] = useState(false);

  useEffect(() => {
    socket.start();
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    const off = socket.on((n) => {
      if (n.type !== 'call.ringing') return;
      const call = n as unknown as Ringing;
      setRinging(call);
      // Screen pop: the caller's card, or the new-caller panel with what the line and the number tell.
      location.hash = call.client ? `#/${call.client.entityType}/${call.client.entityId}` : '#/caller';
    });
    return () => {
      off();
      removeEventListener('hashchange', onHash);
      socket.stop();
    };
  }, []);

  useEffect(() => {
    if (!message) return;
    const timer = setTimeout(() => setMessage(null), 5000);
    return () => clearTimeout(timer);
  }, [message]);

  const ctx: Ctx = {
    me,
    lang,
    t: translator(lang),
    socket,
    flash: (text, kind = 'ok') => setMessage({ text, kind }),
  };
  useHotkeys(() => setHelp((h) => !h));

  return (
    <AppContext.Provider value={ctx}>
      <div class="shell">
        <Header setLang={props.setLang} onSignedOut={props.onSignedOut} onHelp={() => setHelp(true)} />
        <WorkList current={route} />
        <main id="main" tabIndex={-1}>
          {ringing && (
            <div class="ringing" role="alert">
              <strong>{ctx.t(ringing.known === false ? 'newCaller' : 'ringing')}</strong> {ringing.phone}
              {ringing.client?.name ? ` · ${ringing.client.name}` : ''}
              {ringing.source ? ` · ${ctx.t('source')}: ${ringing.source}` : ''}
              <button type="button" class="link" onClick={() => setRinging(null)}>
                {ctx.t('dismiss')}
              </button>
            </div>
          )}
          <Page route={route} ringing={ringing} />
        </main>
        {help && <Help onClose={() => setHelp(false)} />}
        {message && (
          <div class={`flash ${message.kind}`} role="status">
            {message.text}
          </div>
        )}
      </div>
    </AppContext.Provider>
  );
}

function Page({ route, ringing }: { route: Route; ringing: Ringing | null }) {
  const { t } = useApp();
  if (route.name === 'client')
    return <ClientCard key={`${route.type}/${route.id}`} type={route.type} id={route.id} />;
  if (route.name === 'caller' && ringing) return <NewCaller call={ringing} />;
  if (route.name === 'password') return <ChangePassword />;
  return <p class="empty">{t('selectSomething')}</p>;
}

/** Alt+letter shortcuts reach the element that carries data-hotkey="<letter>"; "?" shows them all. */
function useHotkeys(toggleHelp: () => void) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing = target?.matches('input, textarea, select') ?? false;
      if (e.key === '?' && !typing) {
        e.preventDefault();
        return toggleHelp();
      }
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const key = e.code.startsWith('Key') ? e.code.slice(3).toLowerCase() : '';
      const el = key ? document.querySelector<HTMLElement>(`[data-hotkey="${key}"]`) : null;
      if (!el) return;
      e.preventDefault();
      // Buttons act (take, close, note); fields and links get the focus (reply box, presence, work list).
      if (el.tagName === 'BUTTON') el.click();
      else el.focus();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
}

function Help({ onClose }: { onClose(): void }) {
  const { t } = useApp();
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  const keys = [
    'sc_work',
    'sc_reply',
    'sc_note',
    'sc_take',
    'sc_close',
    'sc_presence',
    'sc_send',
    'sc_help',
  ] as const;
  return (
    <div class="dialog" role="dialog" aria-modal="true" aria-label={t('shortcuts')}>
      <h2>{t('shortcuts')}</h2>
      <ul>
        {keys.map((k) => (
          <li key={k}>{t(k)}</li>
        ))}
      </ul>
      <button type="button" onClick={onClose} ref={(b) => b?.focus()}>
        {t('done')}
      </button>
    </div>
  );
}

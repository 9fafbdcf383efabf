import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';
import { useApp } from './context.js';
import type { Lang } from './i18n.js';

type Presence = 'online' | 'away' | 'offline';
const PRESENCES: Presence[] = ['online', 'away', 'offline'];

/** Who I am, my presence (which assignment obeys), the live connection, language, password, sign-out. */
export function Header(props: { setLang(l: Lang): void; onSignedOut(): void; onHelp(): void }) {
  const { me, t, lang, socket, flash } = useApp();
  const [presence, setPresence] = useState<Presence>((me.operator?.status as Presence) ?? 'offline');
  const [live, setLive] = useState(socket.connected);
  useEffect(
    () =>
      socket.on((n) => {
        if (n.type === 'open' || n.type === 'hello') setLive(true);
        if (n.type === 'close') setLive(false);
      }),
    [],
  );

  async function changePresence(status: Presence) {
    try {
      await api('PATCH', '/v1/operators/me/status', { status });
      setPresence(status);
    } catch (err) {
      flash(`${t('error')}: ${(err as Error).message}`, 'error');
    }
  }

  async function signOut() {
    await api('DELETE', '/v1/session').catch((err) => {
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    });
    props.onSignedOut();
  }

  return (
    <header class="top">
      <strong class="brand">{t('appName')}</strong>
      <span class={`conn ${live ? 'on' : 'off'}`} aria-live="polite">
        {live ? t('live') : t('reconnecting')}
      </span>
      <span class="spacer" />
      <span class="who">{me.operator?.name ?? me.role}</span>
      <label>
        <span class="sr">{t('presence')}</span>
        <select
          data-hotkey="p"
          class={`presence ${presence}`}
          value={presence}
          onChange={(e) => void changePresence(e.currentTarget.value as Presence)}
        >
          {PRESENCES.map((p) => (
            <option key={p} value={p}>
              {t(p)}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span class="sr">{t('language')}</span>
        <select value={lang} onChange={(e) => props.setLang(e.currentTarget.value as Lang)}>
          <option value="ru">Русский</option>
          <option value="en">English</option>
        </select>
      </label>
      <a href="#/password">{t('changePassword')}</a>
      <button type="button" class="link" onClick={props.onHelp} aria-label={t('shortcuts')}>
        ?
      </button>
      <button type="button" onClick={() => void signOut()}>
        {t('signOut')}
      </button>
    </header>
  );
}

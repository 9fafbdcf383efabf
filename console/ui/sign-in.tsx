import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from './api.js';
import { type Me, useApp } from './context.js';
import type { Lang, T } from './i18n.js';

/** Login and password; the answer carries the CSRF token the console sends with every change. */
export function SignIn(props: { t: T; lang: Lang; setLang(l: Lang): void; onSignedIn(m: Me): void }) {
  const { t } = props;
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  // The page's only purpose: the cursor starts in the login field.
  useEffect(() => first.current?.focus(), []);

  async function submit(e: Event) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError('');
    try {
      props.onSignedIn(
        await api<Me>('POST', '/v1/session', { login: form.get('login'), password: form.get('password') }),
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        setError(t('tooManyAttempts', { s: err.retryAfter ?? 30 }));
      } else if (err instanceof ApiError && err.status === 401) setError(t('wrongPassword'));
      else setError(`${t('error')}: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="signin">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <h1 id="signin-title">{t('appName')}</h1>
        <label>
          {t('login')}
          <input name="login" autocomplete="username" required maxLength={64} ref={first} />
        </label>
        <label>
          {t('password')}
          <input name="password" type="password" autocomplete="current-password" required maxLength={256} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? t('signingIn') : t('signIn')}
        </button>
        <label class="lang">
          {t('language')}
          <select value={props.lang} onChange={(e) => props.setLang(e.currentTarget.value as Lang)}>
            <option value="ru">Русский</option>
            <option value="en">English</option>
          </select>
        </label>
      </form>
    </main>
  );
}

/** The operator's own password: the current one is asked again; other sessions end on the server. */
export function ChangePassword() {
  const { t, flash } = useApp();
  const [error, setError] = useState('');
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  async function submit(e: Event) {
    e.preventDefault();
    const el = e.currentTarget as HTMLFormElement;
    const form = new FormData(el);
    setError('');
    try {
      await api('POST', '/v1/me/password', {
        currentPassword: form.get('currentPassword'),
        newPassword: form.get('newPassword'),
      });
      el.reset();
      flash(t('passwordChanged'));
      location.hash = '#/';
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <form class="panel narrow" onSubmit={(e) => void submit(e)}>
      <h2>{t('changePassword')}</h2>
      <label>
        {t('currentPassword')}
        <input name="currentPassword" type="password" autocomplete="current-password" required ref={first} />
      </label>
      <label>
        {t('newPassword')}
        <input name="newPassword" type="password" autocomplete="new-password" required minLength={8} />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="row">
        <button type="submit">{t('save')}</button>
        <a href="#/">{t('cancel')}</a>
      </div>
    </form>
  );
}

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSRF_HEADER, SESSION_COOKIE } from '../../../api/auth.js';
import { verifyPassword } from '../../../lib/password.js';
import { type ApiTestApp, admin, apiBackends, bearer, buildApiApp } from '../../support/api-app.js';
import type { TestDatabase } from '../../support/db.js';

/** Sign-in, sessions, CSRF and the wrong-password slowdown, through inject() on PGlite and PostgreSQL. */
for (const backend of await apiBackends()) {
  describe.skipIf(!backend.available)(`API sessions on ${backend.name}`, () => {
    let t: TestDatabase;
    let a: ApiTestApp;
    const PASSWORD = 'correct horse battery';

    beforeAll(async () => {
      t = await backend.make();
      a = await buildApiApp(t);
      for (const login of ['anna', 'boris', 'vera']) {
        const r = await a.app.inject({
          method: 'PATCH',
          url: `/v1/admin/operators/${a.ops[login]}`,
          headers: admin,
          payload: { password: PASSWORD },
        });
        expect(r.statusCode).toBe(200);
        expect(r.json()).toMatchObject({ hasPassword: true, role: 'operator' });
        expect(JSON.stringify(r.json())).not.toContain('scrypt');
      }
    }, 180_000);
    afterAll(async () => {
      await a?.app.close();
      await t?.drop();
    });

    const signIn = (
      login: string,
      password: string,
      opts: { ip?: string; headers?: Record<string, string> } = {},
    ) =>
      a.app.inject({
        method: 'POST',
        url: '/v1/session',
        payload: { login, password },
        headers: opts.headers,
        remoteAddress: opts.ip ?? '10.0.0.1',
      });
    /** Signs in and returns the cookie header and CSRF token of the new session. */
    async function session(login: string, password = PASSWORD, ip?: string) {
      const r = await signIn(login, password, { ip });
      expect(r.statusCode, r.body).toBe(200);
      const c = r.cookies.find((x) => x.name === SESSION_COOKIE)!;
      return { cookie: `${SESSION_COOKIE}=${c.value}`, csrf: r.json().csrfToken as string, raw: c.value };
    }
    const me = (cookie: string) => a.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie } });

    it('signs in with login and password: HttpOnly SameSite cookie, CSRF token, /v1/me', async () => {
      const r = await signIn('anna', PASSWORD);
      expect(r.statusCode).toBe(200);
      expect(r.headers['set-cookie']).toMatch(
        /^ci_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
      );
      expect(r.json()).toMatchObject({
        operator: { id: a.ops.anna, login: 'anna', hasPassword: true },
        role: 'operator',
        via: 'session',
        csrfToken: expect.any(String),
      });
      const c = r.cookies[0]!;
      const m = await me(`${SESSION_COOKIE}=${c.value}`);
      expect(m.statusCode).toBe(200);
      expect(m.json()).toMatchObject({
        operator: { id: a.ops.anna },
        via: 'session',
        csrfToken: r.json().csrfToken,
      });
      // Only the hash of the session id is stored.
      const stored = await t.db.query<{ id_hash: string }>(
        'SELECT id_hash FROM sessions WHERE operator_id = $1',
        [a.ops.anna],
      );
      expect(stored.rows.map((x) => x.id_hash)).not.toContain(c.value);
      expect(stored.rows[0]!.id_hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('answers a wrong password and an unknown login alike, and an unknown cookie with 401', async () => {
      const wrong = await signIn('vera', 'not her password', { ip: '10.0.1.1' });
      const unknown = await signIn('nobody-here', 'whatever it is', { ip: '10.0.1.1' });
      expect(wrong.statusCode).toBe(401);
      expect(unknown.statusCode).toBe(401);
      expect(unknown.json()).toEqual(wrong.json());
      expect(wrong.json().error.fields).toEqual(['login', 'password']);
      expect(wrong.headers['set-cookie']).toBeUndefined();
      const bogus = await me(`${SESSION_COOKIE}=made-up-session-id`);
      expect(bogus.statusCode).toBe(401);
      expect(bogus.json().error.fields).toEqual(['session']);
    });

    it('slows repeated wrong passwords per login, known or not, until the block ends', async () => {
      // Five failures are free; the sixth attempt is refused before the password is even checked.
      for (const login of ['boris', 'ghost']) {
        for (let i = 0; i < 5; i++)
          expect((await signIn(login, `wrong-${i}`, { ip: '10.0.2.1' })).statusCode).toBe(401);
      }
      const blocked = await signIn('boris', PASSWORD, { ip: '10.0.2.2' });
      const ghost = await signIn('ghost', PASSWORD, { ip: '10.0.2.2' });
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json().error).toMatchObject({ code: 'RATE_LIMITED', fields: ['login'] });
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(ghost.statusCode).toBe(429);
      expect(ghost.json()).toEqual(blocked.json());
      const rows = await t.db.query<{ failures: number }>(
        `SELECT failures FROM sign_in_failures WHERE key = 'login:boris'`,
      );
      expect(rows.rows[0]!.failures).toBe(5);
      // Another login from the same addresses is not affected.
      expect((await signIn('vera', PASSWORD, { ip: '10.0.2.2' })).statusCode).toBe(200);
      expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(30);
      // The block ends (time moved on, as a second instance would see it in the table).
      await t.db.query(`UPDATE sign_in_failures SET blocked_until = now() WHERE key = 'login:boris'`);
      expect((await signIn('boris', PASSWORD, { ip: '10.0.2.2' })).statusCode).toBe(200);
      // Success forgives the login's failures.
      expect((await t.db.query(`SELECT 1 FROM sign_in_failures WHERE key = 'login:boris'`)).rowCount).toBe(0);
    }, 60_000);

    it('slows one address guessing at many logins', async () => {
      for (let i = 0; i < 30; i++) {
        expect((await signIn(`guess-${i}`, 'password1', { ip: '10.0.3.3' })).statusCode).toBe(401);
      }
      const r = await signIn('vera', PASSWORD, { ip: '10.0.3.3' });
      expect(r.statusCode).toBe(429);
      expect((await signIn('vera', PASSWORD, { ip: '10.0.3.4' })).statusCode).toBe(200);
    }, 120_000);

    it('slides the expiry forward on use (at most once a minute); an expired session is refused', async () => {
      const s = await session('vera');
      const expiry = async () =>
        (
          await t.db.query<{ expires_at: Date }>(
            `SELECT expires_at FROM sessions WHERE id_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`,
            [s.raw],
          )
        ).rows[0]!.expires_at.getTime();
      const first = await expiry();
      expect(first).toBeGreaterThan(Date.now() + 11.9 * 3_600_000);
      await new Promise((r) => setTimeout(r, 50));
      // Used again within the minute: nothing written.
      expect((await me(s.cookie)).statusCode).toBe(200);
      expect(await expiry()).toBe(first);
      // Last seen more than a minute ago: the next use slides the expiry.
      await t.db.query(
        `UPDATE sessions SET last_seen_at = now() - interval '61 seconds' WHERE id_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`,
        [s.raw],
      );
      expect((await me(s.cookie)).statusCode).toBe(200);
      expect(await expiry()).toBeGreaterThan(first);
      await t.db.query(
        `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id_hash = encode(sha256(convert_to($1, 'UTF8')), 'hex')`,
        [s.raw],
      );
      const r = await me(s.cookie);
      expect(r.statusCode).toBe(401);
      expect(r.json().error.fields).toEqual(['session']);
    });

    it('refuses a state-changing cookie request without the CSRF token or from another site; bearer is exempt', async () => {
      const s = await session('vera');
      const patch = (headers: Record<string, string>) =>
        a.app.inject({
          method: 'PATCH',
          url: '/v1/operators/me/status',
          headers,
          payload: { status: 'offline' },
        });
      const none = await patch({ cookie: s.cookie });
      expect(none.statusCode).toBe(403);
      expect(none.json().error.fields).toEqual([CSRF_HEADER]);
      expect((await patch({ cookie: s.cookie, [CSRF_HEADER]: `${s.csrf}x` })).statusCode).toBe(403);
      // Another session's token is no good either.
      const other = await session('anna');
      expect((await patch({ cookie: s.cookie, [CSRF_HEADER]: other.csrf })).statusCode).toBe(403);
      const cross = await patch({ cookie: s.cookie, [CSRF_HEADER]: s.csrf, 'sec-fetch-site': 'cross-site' });
      expect(cross.statusCode).toBe(403);
      expect(cross.json().error.fields).toEqual(['origin']);
      const evil = await patch({ cookie: s.cookie, [CSRF_HEADER]: s.csrf, origin: 'https://evil.example' });
      expect(evil.statusCode).toBe(403);
      expect(
        (await t.db.query<{ status: string }>('SELECT status FROM operators WHERE id = $1', [a.ops.vera]))
          .rows[0]!.status,
      ).toBe('online');
      const ok = await patch({
        cookie: s.cookie,
        [CSRF_HEADER]: s.csrf,
        origin: 'http://localhost',
        'sec-fetch-site': 'same-origin',
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toEqual({ id: a.ops.vera, status: 'offline' });
      // Reads need no token; a bearer request needs none at all.
      expect((await me(s.cookie)).statusCode).toBe(200);
      const machine = await a.app.inject({
        method: 'PATCH',
        url: '/v1/operators/me/status',
        headers: bearer(a.tokens.vera!),
        payload: { status: 'online' },
      });
      expect(machine.statusCode).toBe(200);
      // Signing in from another site is refused too (login CSRF).
      const foreign = await signIn('vera', PASSWORD, { headers: { origin: 'https://evil.example' } });
      expect(foreign.statusCode).toBe(403);
    });

    it('signs out (CSRF-checked) and lets the admin revoke every session of an operator', async () => {
      const s = await session('anna');
      const out = await a.app.inject({ method: 'DELETE', url: '/v1/session', headers: { cookie: s.cookie } });
      expect(out.statusCode).toBe(403);
      const ok = await a.app.inject({
        method: 'DELETE',
        url: '/v1/session',
        headers: { cookie: s.cookie, [CSRF_HEADER]: s.csrf },
      });
      expect(ok.statusCode).toBe(204);
      expect(ok.headers['set-cookie']).toMatch(/^ci_session=;.*Max-Age=0;.*HttpOnly; SameSite=Lax$/);
      expect((await me(s.cookie)).statusCode).toBe(401);

      const one = await session('anna');
      const two = await session('anna');
      const revoked = await a.app.inject({
        method: 'DELETE',
        url: `/v1/admin/operators/${a.ops.anna}/sessions`,
        headers: admin,
      });
      expect(revoked.statusCode).toBe(200);
      expect(revoked.json().revoked).toBeGreaterThanOrEqual(2);
      expect((await me(one.cookie)).statusCode).toBe(401);
      expect((await me(two.cookie)).statusCode).toBe(401);
      // The API token is a separate credential and keeps working.
      expect(
        (await a.app.inject({ method: 'GET', url: '/v1/me', headers: bearer(a.tokens.anna!) })).statusCode,
      ).toBe(200);
      // An operator cannot revoke anybody's sessions.
      const s3 = await session('vera');
      const denied = await a.app.inject({
        method: 'DELETE',
        url: `/v1/admin/operators/${a.ops.anna}/sessions`,
        headers: { cookie: s3.cookie, [CSRF_HEADER]: s3.csrf },
      });
      expect(denied.statusCode).toBe(403);
    });

    it('changes the password with the current one; other sessions end, this one stays', async () => {
      const here = await session('boris', PASSWORD, '10.0.5.1');
      const elsewhere = await session('boris', PASSWORD, '10.0.5.2');
      const change = (currentPassword: string, newPassword: string) =>
        a.app.inject({
          method: 'POST',
          url: '/v1/me/password',
          headers: { cookie: here.cookie, [CSRF_HEADER]: here.csrf },
          payload: { currentPassword, newPassword },
        });
      const wrong = await change('not the current one', 'a brand new secret');
      expect(wrong.statusCode).toBe(403);
      expect(wrong.json().error.fields).toEqual(['currentPassword']);
      const short = await change(PASSWORD, 'short');
      expect(short.statusCode).toBe(400);
      expect(short.json().error.fields).toEqual(['newPassword']);
      expect((await change(PASSWORD, 'a brand new secret')).statusCode).toBe(204);
      expect((await me(here.cookie)).statusCode).toBe(200);
      expect((await me(elsewhere.cookie)).statusCode).toBe(401);
      expect((await signIn('boris', PASSWORD, { ip: '10.0.5.3' })).statusCode).toBe(401);
      expect((await signIn('boris', 'a brand new secret', { ip: '10.0.5.3' })).statusCode).toBe(200);
      const stored = await t.db.query<{ password_hash: string }>(
        'SELECT password_hash FROM operators WHERE id = $1',
        [a.ops.boris],
      );
      expect(stored.rows[0]!.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
      expect(await verifyPassword('a brand new secret', stored.rows[0]!.password_hash)).toBe(true);
    });

    it('deactivating an operator ends their sessions; the admin creates an operator with a password and role', async () => {
      const created = await a.app.inject({
        method: 'POST',
        url: '/v1/admin/operators',
        headers: admin,
        payload: { login: 'sofia', name: 'Sofia', role: 'supervisor', password: 'sofia password 1' },
      });
      expect(created.statusCode).toBe(201);
      expect(created.json().operator).toMatchObject({ role: 'supervisor', hasPassword: true });
      const s = await session('sofia', 'sofia password 1', '10.0.6.1');
      expect((await me(s.cookie)).json()).toMatchObject({ role: 'supervisor' });
      const gone = await a.app.inject({
        method: 'DELETE',
        url: `/v1/admin/operators/${created.json().operator.id}`,
        headers: admin,
      });
      expect(gone.statusCode).toBe(200);
      expect((await me(s.cookie)).statusCode).toBe(401);
      expect((await signIn('sofia', 'sofia password 1', { ip: '10.0.6.1' })).statusCode).toBe(401);
    });
  });
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../app/config.js';
import { type Service, startService } from '../../../app/service.js';
import { createLogger } from '../../../lib/logger.js';
import { ConsoleClient, signIn } from '../../support/console-socket.js';

/**
 * The embedded default (PGlite, in-process bus and hub): the console socket works the same, and the look-ups
 * made after a commit share PGlite's single connection without blocking the router.
 */
describe('console socket on the embedded default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'console-embedded-'));
  let service: Service;
  let anna: ConsoleClient;
  const admin = { authorization: 'Bearer console-embedded-admin-0123', 'content-type': 'application/json' };

  beforeAll(async () => {
    service = await startService(
      loadConfig({
        PORT: '0',
        DATA_DIR: dir,
        ADMIN_TOKEN: 'console-embedded-admin-0123',
        LOG_LEVEL: 'silent',
      }),
      createLogger({ level: 'silent' }),
    );
    expect(service.realtime.kind).toBe('memory');
    const id = service.demo!.operators.find((o) => o.login === 'anna')!.id;
    const boris = service.demo!.operators.find((o) => o.login === 'boris')!.id;
    for (const [op, patch] of [
      [id, { password: 'anna password 1' }],
      [boris, { status: 'offline' }],
    ] as const) {
      const r = await fetch(new URL(`/v1/admin/operators/${op}`, service.url), {
        method: 'PATCH',
        headers: admin,
        body: JSON.stringify(patch),
      });
      expect(r.status).toBe(200);
    }
    anna = await ConsoleClient.open(service.url, {
      cookie: (await signIn(service.url, 'anna', 'anna password 1')).cookie,
    });
    // PGlite starts and migrates in process: slow on a loaded machine.
  }, 120_000);

  afterAll(async () => {
    anna?.close();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a web form for Moscow tells anna her work changed, and the lead is in her work list', async () => {
    const r = await fetch(new URL('/v1/forms/demo', service.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ name: 'Ivan', phone: '+7 495 123-45-67', region: 'Moscow', message: 'Call me' }),
    });
    expect(r.status).toBe(202);
    await anna.next((f) => f.type === 'work.changed', 2_000);
    const work = await fetch(new URL('/v1/console/work', service.url), {
      headers: { cookie: (await signIn(service.url, 'anna', 'anna password 1')).cookie },
    });
    const items = ((await work.json()) as { items: { kind: string; client: { name: string } }[] }).items;
    expect(items).toContainEqual(
      expect.objectContaining({ kind: 'lead', client: expect.objectContaining({ name: 'Ivan' }) }),
    );
  });
});

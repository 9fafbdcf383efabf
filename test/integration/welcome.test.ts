import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { seedDemo } from '../../app/demo-seed.js';
import type { Service } from '../../app/service.js';
import { printWelcome } from '../../app/welcome.js';
import { createTestPglite, type TestDatabase } from '../support/db.js';

/** The start banner offers curl lines for the demo form and line only when they exist. */
describe('start banner', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestPglite();
  });
  afterAll(async () => t?.drop());

  const banner = async (demoSeed = 'false') => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const config = loadConfig({ ADMIN_TOKEN: 'a'.repeat(20), DEMO_SEED: demoSeed, LOG_LEVEL: 'silent' });
    await printWelcome(config, { db: t.db, bus: { kind: 'memory' } } as unknown as Service);
    const text = log.mock.calls.map((c) => String(c[0])).join('\n');
    log.mockRestore();
    return text;
  };

  it('prints no demo lines without the demo, and both once it is seeded', async () => {
    const empty = await banner();
    expect(empty).not.toContain('/v1/forms/demo');
    expect(empty).not.toContain('/v1/telephony/generic');
    expect(empty).toContain('/v1/admin/forms/<key>');
    await seedDemo(t.db);
    const seeded = await banner();
    expect(seeded).toContain('/v1/forms/demo');
    expect(seeded).toContain('/v1/telephony/generic');
  });

  it("gives the console's address and the demo operators' sign-ins while their password is still the demo's", async () => {
    const text = await banner('true');
    expect(text).toContain('/console/');
    expect(text).toContain('anna / demo-anna');
    await t.db.query("UPDATE operators SET password_hash = NULL WHERE login = 'boris'");
    const changed = await banner('true');
    expect(changed).toContain('vera / demo-vera');
    expect(changed).not.toContain('boris / demo-boris');
  });
});

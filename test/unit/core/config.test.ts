import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../app/config.js';

describe('loadConfig', () => {
  it('runs the embedded default with nothing configured', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      role: 'all',
      defaultCountry: 'RU',
      formRateLimit: 30,
      trustProxy: false,
      demoSeed: true,
      adminTokenGenerated: true,
    });
    expect(c.kafka).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('reads the production shape and the role flag', () => {
    const c = loadConfig(
      {
        DATABASE_URL: 'postgres://u@db/crm',
        KAFKA_BROKERS: 'k1:9092, k2:9092',
        ADMIN_TOKEN: 'x'.repeat(20),
        TRUST_PROXY: 'true',
      },
      ['--role', 'router'],
    );
    expect(c).toMatchObject({
      role: 'router',
      trustProxy: true,
      demoSeed: false,
      adminTokenGenerated: false,
    });
    expect(c.kafka?.brokers).toEqual(['k1:9092', 'k2:9092']);
  });
  it('fails fast naming every bad variable', () => {
    try {
      loadConfig({ PORT: 'eighty', DEFAULT_COUNTRY: 'russia', FORM_RATE_LIMIT: '0' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as Error).message;
      for (const v of ['PORT', 'DEFAULT_COUNTRY', 'FORM_RATE_LIMIT']) expect(msg).toContain(v);
    }
  });
  it('refuses split roles without a real database and bus', () => {
    expect(() => loadConfig({ ROLE: 'router' })).toThrow(/ROLE.*DATABASE_URL and KAFKA_BROKERS/);
  });
});

import type { TelephonyLineSettings } from '../channels/settings.js';
import type { Database } from '../crm-core/db/database.js';
import { upsertForm, upsertLine } from '../crm-core/repositories/channel-settings.repository.js';
import { insertOperator } from '../crm-core/repositories/operator.repository.js';
import { insertRegion, putSetting, updateRegion } from '../crm-core/repositories/region.repository.js';
import { setPasswordHash } from '../crm-core/repositories/session.repository.js';
import { hashToken, newOperatorToken } from '../crm-core/services/operator-tokens.js';
import { hashPassword } from '../lib/password.js';

export const DEMO_LINE_SECRET = 'demo-line-secret';

/** The telephony line `demo` (also what the bench's events claim to come from). */
export const DEMO_LINE: TelephonyLineSettings = {
  key: 'demo',
  name: 'Demo line',
  number: '+74950000000',
  secret: DEMO_LINE_SECRET,
  source: 'Demo ad campaign',
  createLeadOnOutbound: false,
  options: {},
  active: true,
};

/**
 * The demo operators' console password: known, so the README and the start-up lines can give it, and so
 * the demo works after a restart (only a freshly seeded database gets it; an administrator changes it with
 * PATCH /v1/admin/operators/:id, the operator in the console).
 */
export const demoPassword = (login: string) => `demo-${login}`;

export interface DemoSeedResult {
  operators: { id: number; login: string; name: string; region: string; token: string; password: string }[];
}

/**
 * A small working setup for a newcomer: two regions, three operators (with console passwords), the web form
 * `demo` and the telephony line `demo`. Runs only on an empty database (no operators yet), in one transaction.
 */
export async function seedDemo(db: Database): Promise<DemoSeedResult | undefined> {
  return db.transaction(async (tx) => {
    const existing = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM operators');
    if ((existing.rows[0]?.n ?? 0) > 0) return undefined;
    const moscow = await insertRegion(tx, {
      code: 'msk',
      name: 'Moscow',
      strategy: 'round_robin',
      priority: 10,
      rules: [
        { kind: 'phone_prefix', value: '+7495' },
        { kind: 'phone_prefix', value: '+7499' },
        { kind: 'form_region', value: 'Moscow' },
        { kind: 'form_city', value: 'Moscow' },
      ],
    });
    const spb = await insertRegion(tx, {
      code: 'spb',
      name: 'Saint Petersburg',
      strategy: 'least_loaded',
      priority: 20,
      rules: [
        { kind: 'phone_prefix', value: '+7812' },
        { kind: 'form_region', value: 'Saint Petersburg' },
        { kind: 'form_city', value: 'Saint Petersburg' },
      ],
    });
    const people = [
      { login: 'anna', name: 'Anna Ivanova', extension: '101', region: moscow, regionName: 'Moscow' },
      { login: 'boris', name: 'Boris Petrov', extension: '102', region: moscow, regionName: 'Moscow' },
      { login: 'vera', name: 'Vera Smirnova', extension: '201', region: spb, regionName: 'Saint Petersburg' },
    ];
    const operators: DemoSeedResult['operators'] = [];
    for (const p of people) {
      const token = newOperatorToken();
      const id = await insertOperator(
        tx,
        { login: p.login, name: p.name, extension: p.extension, status: 'online', regionIds: [p.region] },
        hashToken(token),
      );
      const password = demoPassword(p.login);
      await setPasswordHash(tx, id, await hashPassword(password));
      operators.push({ id, login: p.login, name: p.name, region: p.regionName, token, password });
    }
    await updateRegion(tx, moscow, { defaultOperatorId: operators[0]!.id });
    await updateRegion(tx, spb, { defaultOperatorId: operators[2]!.id });
    await putSetting(tx, 'default_operator_id', operators[0]!.id);
    await upsertForm(tx, {
      key: 'demo',
      name: 'Demo contact form',
      fieldMap: {},
      allowedOrigins: ['*'],
      honeypotField: 'website',
      active: true,
    });
    await upsertLine(tx, DEMO_LINE);
    return { operators };
  });
}

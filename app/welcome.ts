import { getForm, getLine } from '../crm-core/repositories/channel-settings.repository.js';
import { findOperatorByLogin } from '../crm-core/repositories/session.repository.js';
import { verifyPassword } from '../lib/password.js';
import type { AppConfig } from './config.js';
import { DEMO_LINE, DEMO_LINE_SECRET, demoPassword } from './demo-seed.js';
import type { Service } from './service.js';

/** The demo's form and line, when they exist (seeded now or on an earlier start, and not removed since). */
async function demoChannels(s: Service): Promise<{ form: boolean; line: boolean }> {
  const [form, line] = await Promise.all([getForm(s.db, 'demo'), getLine(s.db, DEMO_LINE.key)]);
  return { form: !!form?.active, line: !!line?.active && line.secret === DEMO_LINE_SECRET };
}

const DEMO_LOGINS = ['anna', 'boris', 'vera'];

/**
 * The demo operators whose console password is still the demo's (checked, not assumed: an administrator may
 * have changed it since the seed). Only with DEMO_SEED on: a production start never tries passwords.
 */
async function demoSignIns(s: Service): Promise<string[]> {
  const valid = await Promise.all(
    DEMO_LOGINS.map(async (login) => {
      const op = await findOperatorByLogin(s.db, login);
      return op?.active && (await verifyPassword(demoPassword(login), op.password_hash)) ? login : undefined;
    }),
  );
  return valid.filter((l): l is string => l !== undefined);
}

/**
 * What a newcomer sees after `npm start`: where things are and lines to paste. The demo's curl lines are
 * printed only for a demo form and line that exist: with DEMO_SEED=false they would answer 404 and 401.
 */
export async function printWelcome(config: Readonly<AppConfig>, s: Service, tokenFile?: string) {
  const base = config.publicUrl;
  const tokenOrigin = tokenFile
    ? `(generated once and kept in ${tokenFile}; set ADMIN_TOKEN to choose one)`
    : config.adminTokenGenerated
      ? '(generated for this run; set ADMIN_TOKEN to choose one)'
      : '(from ADMIN_TOKEN)';
  const lines = [
    '',
    `contact-ingest is running (role ${config.role}, database ${s.db.kind}, bus ${s.bus.kind})`,
    ...(config.role === 'all' || config.role === 'api' ? [`  console      ${base}/console/`] : []),
    `  API docs     ${base}/docs`,
    `  health       ${base}/healthz   ready ${base}/readyz   metrics ${base}/metrics`,
    `  admin token  ${config.adminToken}  ${tokenOrigin}`,
  ];
  if (s.demo) {
    lines.push(
      '',
      'Demo setup seeded: regions Moscow (+7495/+7499) and Saint Petersburg (+7812), form "demo", line "demo".',
    );
    for (const o of s.demo.operators)
      lines.push(`  operator ${o.login.padEnd(6)} ${o.region.padEnd(17)} token ${o.token}`);
  }
  const signIns = config.demoSeed ? await demoSignIns(s) : [];
  if (signIns.length)
    lines.push(
      '',
      `Console sign-in (${base}/console/): ${signIns.map((l) => `${l} / ${demoPassword(l)}`).join(',  ')}`,
    );
  const demo = await demoChannels(s);
  lines.push('', 'Try:');
  if (demo.form)
    lines.push(
      `  curl -s -X POST ${base}/v1/forms/demo -H 'content-type: application/json' -d '{"name":"Ivan","phone":"+7 (495) 123-45-67","message":"Call me"}'`,
    );
  if (demo.line)
    lines.push(
      `  curl -s -X POST ${base}/v1/telephony/generic -H 'authorization: Bearer ${DEMO_LINE_SECRET}' -H 'content-type: application/json' \\`,
      `       -d '{"line":"demo","direction":"inbound","from":"8 495 123 45 67","to":"+74950000000","startedAt":"2026-11-23T10:00:00Z","duration":0,"status":"missed","externalCallId":"call-1"}'`,
    );
  if (!demo.form && !demo.line)
    lines.push(
      `  create a form: curl -s -X PUT ${base}/v1/admin/forms/<key> -H "authorization: Bearer ${config.adminToken}" -H 'content-type: application/json' -d '{"name":"Contact us"}'`,
    );
  lines.push(`  curl -s ${base}/v1/leads -H "authorization: Bearer ${config.adminToken}"`, '');
  console.log(lines.join('\n'));
}

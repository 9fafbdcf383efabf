import { describe, expect, it } from 'vitest';
import type { ClientDirectory } from '../../../channels/settings.js';
import { buildTelephonyApp, fixture, telephonyLine } from '../../support/telephony-app.js';

const SECRET = 'line-secret-0123456789';
const REGISTER = fixture('bitrix24/register-inbound.urlencoded');

describe('telephony.externalcall.register names the CRM entity of a known caller', () => {
  it('answers CRM_ENTITY_TYPE and CRM_ENTITY_ID from the read-only client directory', async () => {
    const asked: string[] = [];
    const clients: ClientDirectory = {
      async findByPhone(phone) {
        asked.push(phone);
        return { entityType: 'contact', entityId: 42, responsibleId: 7 };
      },
    };
    const { app } = await buildTelephonyApp({ lines: [telephonyLine()], clients });
    const res = await app.inject({
      method: 'POST',
      url: `/v1/telephony/bitrix24/main/telephony.externalcall.register?auth=${SECRET}`,
      payload: REGISTER,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().result).toMatchObject({ CRM_ENTITY_TYPE: 'CONTACT', CRM_ENTITY_ID: 42 });
    expect(asked).toHaveLength(1);
  });

  it('keeps the entity fields null for an unknown caller', async () => {
    const { app } = await buildTelephonyApp({
      lines: [telephonyLine()],
      clients: { findByPhone: async () => undefined },
    });
    const res = await app.inject({
      method: 'POST',
      url: `/v1/telephony/bitrix24/main/telephony.externalcall.register?auth=${SECRET}`,
      payload: REGISTER,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.json().result).toMatchObject({ CRM_ENTITY_TYPE: null, CRM_ENTITY_ID: null });
  });
});

import { describe, expect, it } from 'vitest';
import { expectError } from '../../support/expect-error.js';
import { buildWebformApp } from '../../support/webform-app.js';

/** The form endpoint takes anyone's input: never a 5xx, impossible keys refused before any look-up. */
describe('webform and hostile input', () => {
  it('a NUL (or any impossible key) in the form key is 404 without a settings look-up', async () => {
    const t = await buildWebformApp();
    for (const key of ['%00', 'con%00tact', '.x', `${'k'.repeat(65)}`, '%F0%9F%98%80']) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/forms/${key}`, payload: { phone: '1' } });
      expectError(res, 404, 'NOT_FOUND', 'formKey');
    }
    expect(t.settings.lookups).toEqual([]);
    expect(t.bus.events).toHaveLength(0);
  });

  it('removes control characters and lone surrogates from fields and keeps the submission', async () => {
    const t = await buildWebformApp();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        name: 'Iv\u0000an\ud800',
        phone: '+7 495\u0000 123-45-67',
        message: 'a\tb\nc\u0007',
      }),
    });
    expect(res.statusCode).toBe(202);
    const e = t.bus.events[0]!;
    expect(e.sender.name).toBe('Ivan\ufffd');
    expect(e.sender.identities[0]).toMatchObject({ value: '+74951234567', valid: true });
    expect(e.content.text).toBe('a\tb\nc');
    const encoded = await t.app.inject({
      method: 'POST',
      url: '/v1/forms/contact',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=%00&email=a%00@example.com',
    });
    expect(encoded.statusCode).toBe(202);
    expect(t.bus.events[1]!.sender).toEqual({
      identities: [{ kind: 'email', value: 'a@example.com', valid: true }],
    });
  });
});

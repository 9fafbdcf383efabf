import { describe, expect, it } from 'vitest';
import { toAppError } from '../../../api/http-errors.js';
import {
  buildCallEvent,
  type CallRecord,
  callExternalId,
  isWithheldNumber,
} from '../../../connectors/telephony/call-event.js';
import { contactId } from '../../../event/inbound-contact.js';
import { telephonyLine } from '../../support/telephony-app.js';

const NOW = new Date('2025-03-14T08:00:00Z');

function record(overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    vendor: 'generic',
    line: telephonyLine(),
    externalCallId: 'call-1',
    stage: 'ended',
    status: 'answered',
    direction: 'inbound',
    from: '8 (495) 123-45-67',
    to: '+74957654321',
    startedAt: new Date('2025-03-14T07:21:52Z'),
    answeredAt: new Date('2025-03-14T07:22:07Z'),
    endedAt: new Date('2025-03-14T07:24:07Z'),
    durationSec: 135,
    talkSec: 120,
    waitSec: 15,
    operatorExtension: '101',
    raw: { contentType: 'application/json', body: '{}' },
    ...overrides,
  };
}

const build = (r: CallRecord) => buildCallEvent(r, { defaultCountry: 'RU', now: NOW });

describe('isWithheldNumber', () => {
  it.each([
    '',
    '   ',
    'anonymous',
    'Anonymous',
    'unknown',
    'restricted',
    'Private',
    '+00000',
    '0000000000',
    'sip:anonymous@anonymous.invalid',
    '+266696687', // Twilio: A-N-O-N-Y-M-O-U-S on a keypad
    '+7378742833', // RESTRICTED
    '+86282452253', // UNAVAILABLE
    '+2562533', // BLOCKED
    '+8656696', // UNKNOWN
  ])('%j is withheld', (n) => expect(isWithheldNumber(n)).toBe(true));

  it.each(['+74951234567', '8 (495) 123-45-67', '101', 'sip:1001@pbx.example.ru'])('%j is a number', (n) =>
    expect(isWithheldNumber(n)).toBe(false),
  );
});

describe('buildCallEvent', () => {
  it('sets the phone channel, the line as source, the client identity and the call', () => {
    const e = build(record());
    expect(e).toMatchObject({
      channel: 'phone',
      kind: 'call',
      direction: 'inbound',
      source: { type: 'line', key: 'main', name: 'Yandex Direct' },
      externalId: 'generic:call-1:ended:answered',
      occurredAt: '2025-03-14T07:24:07.000Z',
      sender: { identities: [{ kind: 'phone', value: '+74951234567', valid: true }] },
      regionHints: { callerNumber: '8 (495) 123-45-67', calledLine: '+74957654321' },
      meta: {
        stage: 'ended',
        vendor: 'generic',
        lineSource: 'Yandex Direct',
        lineRegionId: 7,
        createLeadOnOutbound: false,
      },
    });
    expect(e.content.call).toEqual({
      status: 'answered',
      externalCallId: 'call-1',
      durationSec: 135,
      talkSec: 120,
      waitSec: 15,
      operatorExtension: '101',
      from: '8 (495) 123-45-67',
      to: '+74957654321',
      startedAt: '2025-03-14T07:21:52.000Z',
      answeredAt: '2025-03-14T07:22:07.000Z',
      endedAt: '2025-03-14T07:24:07.000Z',
    });
    expect(e.id).toBe(contactId('phone', 'main', 'generic:call-1:ended:answered'));
  });

  it('takes the client from `to` on outbound calls, and the line number from `from` without line.number', () => {
    const e = build(
      record({
        direction: 'outbound',
        from: '101',
        to: '+79161234567',
        line: telephonyLine({ number: undefined }),
      }),
    );
    expect(e.sender.identities).toEqual([{ kind: 'phone', value: '+79161234567', valid: true }]);
    expect(e.regionHints).toEqual({ callerNumber: '+79161234567', calledLine: '101' });
  });

  it('records a withheld caller as anonymous, without any identity', () => {
    const e = build(record({ from: 'anonymous', status: 'missed' }));
    expect(e.sender.identities).toEqual([]);
    expect(e.content.call).toMatchObject({ anonymous: true, from: 'anonymous' });
    expect(e.regionHints.callerNumber).toBeUndefined();
  });

  it('does not call a delivery without numbers (a recording callback) anonymous', () => {
    const e = build(
      record({ from: undefined, to: undefined, stage: 'recording', recordingUrl: 'https://r.example/1' }),
    );
    expect(e.content.call?.anonymous).toBeUndefined();
    expect(e.sender.identities).toEqual([]);
  });

  it('uses the line name when the line has no source label, and merges vendor meta last', () => {
    const e = build(record({ line: telephonyLine({ source: undefined }), meta: { leg: 'b' } }));
    expect(e.source.name).toBe('Main line');
    expect(e.meta).toMatchObject({ stage: 'ended', leg: 'b' });
  });

  it('picks occurredAt by stage', () => {
    expect(build(record({ stage: 'ringing', status: 'ringing' })).occurredAt).toBe(
      '2025-03-14T07:21:52.000Z',
    );
    expect(build(record({ stage: 'answered' })).occurredAt).toBe('2025-03-14T07:22:07.000Z');
    const bare = record({ startedAt: undefined, answeredAt: undefined, endedAt: undefined });
    expect(build(bare).occurredAt).toBe(NOW.toISOString());
  });

  it('what the event schema still refuses is a 400 naming the path, as on every endpoint', () => {
    try {
      build(record({ externalCallId: 'x'.repeat(201) }));
      expect.unreachable();
    } catch (e) {
      const http = toAppError(e);
      expect(http.status).toBe(400);
      expect(http.fields).toContain('content.call.externalCallId');
    }
  });

  it('removes control characters and lone surrogates instead of refusing the call', () => {
    const e = build(record({ externalCallId: 'ca\u0000ll-1', callerName: 'Iv\ud800an\u0007' }));
    expect(e.content.call?.externalCallId).toBe('call-1');
    expect(e.sender.name).toBe('Iv\ufffdan');
  });
});

describe('callExternalId', () => {
  const base = {
    vendor: 'twilio' as const,
    externalCallId: 'CA1',
    stage: 'ended' as const,
    status: 'missed' as const,
  };
  it('is vendor:delivery:stage:status, the delivery defaulting to the call', () => {
    expect(callExternalId(base)).toBe('twilio:CA1:ended:missed');
    expect(callExternalId({ ...base, deliveryId: 'CA2' })).toBe('twilio:CA2:ended:missed');
  });
  it('adds the recording to recording callbacks, long URLs hashed', () => {
    const r = { ...base, stage: 'recording' as const, status: 'answered' as const };
    expect(callExternalId({ ...r, recordingUrl: 'https://r.example/1' })).toBe(
      'twilio:CA1:recording:answered:https://r.example/1',
    );
    const long = callExternalId({ ...r, recordingUrl: `https://r.example/${'a'.repeat(400)}` });
    expect(long).toMatch(/^twilio:CA1:recording:answered:[0-9a-f]{32}$/);
  });
});

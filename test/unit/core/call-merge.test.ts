import { describe, expect, it } from 'vitest';
import { type CallRecord, isMissedInbound, mergeCall } from '../../../router/call-merge.js';

const base: CallRecord = {
  status: 'ringing',
  externalCallId: 'c1',
  direction: 'inbound',
  from: '+74951234567',
  startedAt: '2026-11-23T10:00:00.000Z',
};
const events: CallRecord[] = [
  base,
  { ...base, status: 'answered', answeredAt: '2026-11-23T10:00:12.000Z', operatorExtension: '101' },
  { ...base, status: 'answered', endedAt: '2026-11-23T10:02:12.000Z' },
  { ...base, status: 'answered', recordingUrl: 'https://rec.example/1.mp3' },
];

function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('mergeCall', () => {
  const expected = events.reduce<CallRecord | undefined>((acc, e) => mergeCall(acc, e), undefined)!;

  it('derives talk and wait time from the timestamps', () => {
    expect(expected).toMatchObject({
      status: 'answered',
      talkSec: 120,
      waitSec: 12,
      durationSec: 132,
      recordingUrl: 'https://rec.example/1.mp3',
      operatorExtension: '101',
    });
  });

  it('gives the same record for any order and any repetition', () => {
    for (let seed = 1; seed < 50; seed++) {
      const stream = shuffle([...events, ...events.slice(0, 1 + (seed % 4))], seed);
      const merged = stream.reduce<CallRecord | undefined>((acc, e) => mergeCall(acc, e), undefined);
      expect(merged).toEqual(expected);
    }
  });

  it('keeps the numbers that were not the owner’s as one sorted set, whatever the order', () => {
    const a: CallRecord = { ...base, clientNumber: '+74951234567', otherNumbers: ['+79165550402'] };
    const b: CallRecord = { ...base, status: 'missed', otherNumbers: ['+79165550403', '+79165550402'] };
    const ab = mergeCall(mergeCall(undefined, a), b);
    expect(ab).toEqual(mergeCall(mergeCall(mergeCall(undefined, b), a), b));
    expect(ab).toMatchObject({
      clientNumber: '+74951234567',
      otherNumbers: ['+79165550402', '+79165550403'],
    });
    expect(mergeCall(undefined, base)).not.toHaveProperty('otherNumbers');
  });

  it('never lets a late weaker status undo an answer', () => {
    const m = mergeCall(mergeCall(undefined, { ...base, status: 'answered' }), { ...base, status: 'missed' });
    expect(m.status).toBe('answered');
  });

  it('treats missed, busy and voicemail inbound calls from a known number as needing a callback', () => {
    expect(isMissedInbound({ ...base, status: 'missed' })).toBe(true);
    expect(isMissedInbound({ ...base, status: 'busy' })).toBe(true);
    expect(isMissedInbound({ ...base, status: 'answered' })).toBe(false);
    expect(isMissedInbound({ ...base, status: 'missed', anonymous: true })).toBe(false);
    expect(isMissedInbound({ ...base, status: 'missed', direction: 'outbound' })).toBe(false);
  });
});

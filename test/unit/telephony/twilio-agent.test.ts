import { describe, expect, it } from 'vitest';
import { agentId } from '../../../connectors/telephony/twilio.adapter.js';

describe('Twilio <Dial> agent as operator extension', () => {
  it.each([
    ['client:101', '101'],
    ['sip:101@pbx.example.com', '101'],
    ['SIP:anna;transport=tls', 'anna'],
  ])('%s → %s', (raw, ext) => expect(agentId(raw)).toBe(ext));
  it('ignores plain phone numbers', () => expect(agentId('+74951234567')).toBeUndefined());
});

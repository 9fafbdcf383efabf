import { describe, expect, it } from 'vitest';
import { parentsFirst, threadParents } from '../../../router/email-thread.js';
import { callEvent, emailEvent } from '../../support/events.js';

const ids = (events: { thread?: { messageId?: string } }[]) => events.map((e) => e.thread?.messageId);

describe('email threads in a batch', () => {
  const m1 = emailEvent({ from: 'a@x.test', messageId: '<1@x>' });
  const m2 = emailEvent({ from: 'b@x.test', messageId: '<2@x>', inReplyTo: '<1@x>', references: ['<1@x>'] });
  const m3 = emailEvent({
    from: 'c@x.test',
    messageId: '<3@x>',
    inReplyTo: '<2@x>',
    references: ['<1@x>', '<2@x>'],
  });

  it('names the bounced message first, then the parent, then the references from the nearest', () => {
    const bounce = emailEvent({
      robot: 'bounce',
      messageId: '<b@mx>',
      inReplyTo: '<2@x>',
      references: ['<1@x>', '<2@x>'],
      bounce: { recipients: ['b@x.test'], originalMessageId: '<9@x>' },
    });
    expect(threadParents(bounce)).toEqual(['<9@x>', '<2@x>', '<2@x>', '<1@x>']);
  });

  it('moves a message before the answers of the batch that point at it, keeping every other order', () => {
    const call = callEvent({ from: '+74951234567', status: 'missed' });
    const out = parentsFirst([m3, call, m2, m1]);
    expect(ids(out)).toEqual(['<1@x>', '<2@x>', '<3@x>', undefined]);
    expect(out).toContain(call);
    expect(parentsFirst([call, m1, m2])).toEqual([call, m1, m2]);
  });

  it('routes every event once even when messages point at each other', () => {
    const a = emailEvent({ from: 'a@y.test', messageId: '<a@y>', inReplyTo: '<b@y>' });
    const b = emailEvent({ from: 'b@y.test', messageId: '<b@y>', inReplyTo: '<a@y>', references: ['<b@y>'] });
    const out = parentsFirst([a, b, a]);
    expect(out).toHaveLength(3);
    expect(new Set(out)).toEqual(new Set([a, b]));
  });
});

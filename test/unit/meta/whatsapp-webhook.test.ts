import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { BusEvent } from '../../../event/bus-event.js';
import { deliveryStatusId } from '../../../event/delivery-status.js';
import { contactId } from '../../../event/inbound-contact.js';
import { AppError } from '../../../lib/errors.js';
import {
  buildMetaApp,
  type MetaTestApp,
  metaFixture,
  postSigned,
  whatsappAccount,
} from '../../support/meta-app.js';

const WA = whatsappAccount();
const URL = '/v1/messengers/whatsapp/wa-main';
const OUT = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA';

let t: MetaTestApp;
let publishCalls: number[];
beforeEach(async () => {
  await t?.app.close();
  t = await buildMetaApp([WA]);
  publishCalls = [];
  const publish = t.bus.publish.bind(t.bus);
  t.bus.publish = (events: BusEvent[]) => {
    publishCalls.push(events.length);
    return publish(events);
  };
});
afterAll(() => t.app.close());

async function deliver(fixture: string) {
  const res = await postSigned(t.app, URL, metaFixture(fixture), WA.appSecret);
  expect(res.statusCode, res.body).toBe(200);
  return t.bus.events;
}

describe('WhatsApp messages', () => {
  it('turns a text message into an inbound message from the wa_id as an E.164 phone', async () => {
    const [e] = await deliver('wa-text.json');
    const wamid = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=';
    expect(e).toMatchObject({
      id: contactId('whatsapp', 'wa-main', wamid),
      channel: 'whatsapp',
      kind: 'message',
      direction: 'inbound',
      externalId: wamid,
      source: { type: 'bot', key: 'wa-main', name: 'WhatsApp ad' },
      occurredAt: new Date(1749416383 * 1000).toISOString(),
      sender: { name: 'Sheena Nelson', identities: [{ kind: 'phone', value: '+16505551234', valid: true }] },
      content: {
        text: 'Does it come in another color?',
        message: { vendorMessageId: wamid, chatId: '16505551234' },
      },
      regionHints: { callerNumber: '+16505551234' },
      meta: { vendor: 'whatsapp', accountSource: 'WhatsApp ad', accountRegionId: 3 },
    });
    expect(JSON.parse(e!.raw.body).messages[0].id).toBe(wamid);
    expect(t.updates).toEqual([{ vendor: 'whatsapp', kind: 'message:text', outcome: 'published' }]);
  });

  it.each([
    [
      'wa-image.json',
      { kind: 'image', fileId: '1003383421387256', mimeType: 'image/jpeg', caption: 'Best succulent ever?' },
      'Best succulent ever?',
    ],
    [
      'wa-document.json',
      {
        kind: 'document',
        fileId: '1003383421387256',
        mimeType: 'application/pdf',
        name: 'lucky-shrub-invoice.pdf',
      },
      'Lucky Shrub Invoice',
    ],
    [
      'wa-audio-voice.json',
      { kind: 'voice', fileId: '1003383421387257', mimeType: 'audio/ogg; codecs=opus' },
      undefined,
    ],
    ['wa-video.json', { kind: 'video', fileId: '1003383421387258', mimeType: 'video/mp4' }, 'Look at this'],
    ['wa-sticker.json', { kind: 'sticker', fileId: '1003383421387259', mimeType: 'image/webp' }, undefined],
  ])('keeps %s as attachment metadata with its media id', async (fixture, attachment, text) => {
    const [e] = await deliver(fixture);
    expect(e!.content.message!.attachments).toEqual([expect.objectContaining(attachment)]);
    expect(e!.content.text).toBe(text);
  });

  it('keeps an audio file that is not a voice note as audio', async () => {
    const body = metaFixture('wa-audio-voice.json').replace('"voice": true', '"voice": false');
    await postSigned(t.app, URL, body, WA.appSecret);
    expect(t.bus.events[0]!.content.message!.attachments![0]!.kind).toBe('audio');
  });

  it('turns a location into message.location', async () => {
    const [e] = await deliver('wa-location.json');
    expect(e!.content.message!.location).toEqual({
      latitude: 37.44216251868683,
      longitude: -122.16153582049394,
      name: 'Philz Coffee',
      address: '101 Forest Ave, Palo Alto, CA 94301',
    });
    expect(e!.content.text).toBe('Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301');
  });

  it.each([
    [
      'wa-interactive-button.json',
      { id: 'change-button', title: 'Change' },
      'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDMUMxQTQ0RjlFMjk4QjhDMDIA',
    ],
    [
      'wa-interactive-list.json',
      { id: 'priority_express', title: 'Express Shipping' },
      'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0NzJFQUMxRTc4RjZFNUNGRjUA',
    ],
    [
      'wa-button.json',
      { id: 'No-Button-Payload', title: 'No' },
      'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJBRkI4MjRDQ0E3RTE5NUZDQTMA',
    ],
  ])(
    'turns %s into message.interactive answering the message in context.id',
    async (fixture, interactive, replyTo) => {
      const [e] = await deliver(fixture);
      expect(e!.content.message!.interactive).toEqual(interactive);
      expect(e!.content.message!.replyToVendorMessageId).toBe(replyTo);
      expect(e!.content.text).toBe(interactive.title);
    },
  );

  it("keeps a shared contact card as someone else, never as the sender's own phone", async () => {
    const [e] = await deliver('wa-contacts.json');
    expect(e!.content.message!.sharedContact).toEqual({
      name: 'Barbara J. Johnson',
      phone: '+1 (940) 555-1234',
      ownPhone: false,
    });
    expect(e!.content.message!.attachments).toEqual([
      { kind: 'contact', name: 'Barbara J. Johnson', caption: '+1 (940) 555-1234' },
    ]);
    expect(e!.sender.identities).toEqual([{ kind: 'phone', value: '+16505551234', valid: true }]);
  });

  it('acknowledges a reaction without an event (ignored) and an unsupported message (unhandled)', async () => {
    expect(await deliver('wa-reaction.json')).toEqual([]);
    expect(await deliver('wa-unsupported.json')).toEqual([]);
    expect(publishCalls).toEqual([]);
    expect(t.updates).toEqual([
      { vendor: 'whatsapp', kind: 'message:reaction', outcome: 'ignored' },
      { vendor: 'whatsapp', kind: 'message:unsupported', outcome: 'unhandled' },
    ]);
  });

  it('ignores a change for another phone_number_id (logged and counted, nothing published)', async () => {
    expect(await deliver('wa-other-number.json')).toEqual([]);
    expect(t.updates).toEqual([{ vendor: 'whatsapp', kind: 'other_number', outcome: 'ignored' }]);
  });

  it('publishes every message and status of one delivery in one bus call, in delivery order', async () => {
    await deliver('wa-batch.json');
    expect(publishCalls).toEqual([4]);
    expect(t.bus.events.map((e) => [e.externalId, e.sender.identities[0]!.value, e.sender.name])).toEqual([
      ['wamid.BATCH-1', '+16505551234', 'Sheena Nelson'],
      ['wamid.BATCH-2', '+79161234567', 'Иван Петров'],
      ['wamid.BATCH-3', '+16505551234', 'Sheena Nelson'],
    ]);
    expect(t.bus.statuses.map((s) => s.status)).toEqual(['delivered']);
    expect(t.updates.filter((u) => u.outcome === 'unhandled')).toEqual([
      { vendor: 'whatsapp', kind: 'field:account_update', outcome: 'unhandled' },
    ]);
  });

  it('gives a redelivered webhook the same event ids', async () => {
    await deliver('wa-batch.json');
    await deliver('wa-batch.json');
    const ids = t.bus.events.map((e) => e.id);
    expect(ids.slice(0, 3)).toEqual(ids.slice(3));
    expect(new Set(ids).size).toBe(3);
    expect(t.bus.statuses[0]!.id).toBe(t.bus.statuses[1]!.id);
  });
});

describe('WhatsApp statuses', () => {
  it('turns sent into a DeliveryStatus for the message, keyed by the recipient phone', async () => {
    await deliver('wa-status-sent.json');
    expect(t.bus.statuses).toEqual([
      expect.objectContaining({
        schema: 'delivery-status',
        id: deliveryStatusId('whatsapp', 'wa-main', OUT, 'sent'),
        channel: 'whatsapp',
        accountKey: 'wa-main',
        vendorMessageId: OUT,
        status: 'sent',
        recipient: { kind: 'phone', value: '+16505551234', valid: true },
        occurredAt: new Date(1750263773 * 1000).toISOString(),
      }),
    ]);
    expect(t.updates).toEqual([{ vendor: 'whatsapp', kind: 'status:sent', outcome: 'published' }]);
  });

  it("keeps a failure's vendor code and details", async () => {
    await deliver('wa-status-failed.json');
    expect(t.bus.statuses[0]).toMatchObject({
      status: 'failed',
      error: {
        code: '131050',
        message:
          'Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business',
      },
    });
  });

  it('passes out-of-order statuses on as they came, each with its own id (the router never moves backwards)', async () => {
    await deliver('wa-statuses-out-of-order.json');
    expect(t.bus.statuses.map((s) => [s.status, s.occurredAt])).toEqual([
      ['read', new Date(1750263790 * 1000).toISOString()],
      ['delivered', new Date(1750263780 * 1000).toISOString()],
    ]);
    expect(new Set(t.bus.statuses.map((s) => s.id)).size).toBe(2);
  });
});

describe('WhatsApp deliveries that cannot be taken', () => {
  it.each([
    [new AppError('BUS_UNAVAILABLE', 'down', { retryAfterSec: 9 }), '9'],
    [new AppError('BUS_UNAVAILABLE', 'down'), '5'],
    [new Error('broker connection reset'), '5'],
  ])('answers 503 with Retry-After when the bus refuses (%s)', async (err, retryAfter) => {
    t.bus.failWith = err;
    const res = await postSigned(t.app, URL, metaFixture('wa-batch.json'), WA.appSecret);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe(retryAfter);
    expect(res.json().error.code).toBe('BUS_UNAVAILABLE');
    expect(t.updates).toEqual([]);
  });

  it('refuses a message without an id, naming the field, and publishes none of the delivery', async () => {
    const body = JSON.parse(metaFixture('wa-batch.json'));
    delete body.entry[0].changes[0].value.messages[2].id;
    const res = await postSigned(t.app, URL, JSON.stringify(body), WA.appSecret);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields).toEqual(['entry.0.changes.0.value.messages.2.id']);
    expect(publishCalls).toEqual([]);
    expect(t.updates).toEqual([{ vendor: 'whatsapp', kind: 'request', outcome: 'invalid' }]);
  });

  it('refuses a text message without its text object', async () => {
    const body = JSON.parse(metaFixture('wa-text.json'));
    delete body.entry[0].changes[0].value.messages[0].text;
    const res = await postSigned(t.app, URL, JSON.stringify(body), WA.appSecret);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields).toEqual(['entry.0.changes.0.value.messages.0.text']);
  });

  it('refuses a body that is not a WhatsApp delivery, naming `object`', async () => {
    const res = await postSigned(t.app, URL, metaFixture('ig-text.json'), WA.appSecret);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields).toContain('object');
  });
});

import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { deliveryStatusId } from '../../../event/delivery-status.js';
import { contactId } from '../../../event/inbound-contact.js';
import {
  buildMetaApp,
  IG_USER_ID,
  instagramAccount,
  type MetaTestApp,
  metaFixture,
  postSigned,
} from '../../support/meta-app.js';

const IG = instagramAccount();
const URL = '/v1/messengers/instagram/ig-main';
const CLIENT = '1254459154682919';
const MID =
  'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0MDI4MjM2Njg0MTcxMDMwMDk0OTEyODE3NDg0MTI1NTM0ODQ4NjozMTQ1MDI2OTk4MDE1MzI1ODY0Nzc3NzQ2NDQxNzk0MjI0MAZDZD';

let t: MetaTestApp;
beforeEach(async () => {
  await t?.app.close();
  t = await buildMetaApp([IG]);
});
afterAll(() => t.app.close());

async function deliver(body: string) {
  const res = await postSigned(t.app, URL, body, IG.appSecret);
  expect(res.statusCode, res.body).toBe(200);
  return t.bus.events;
}

describe('Instagram messaging', () => {
  it("turns a client's text into an inbound message from their IGSID", async () => {
    const [e] = await deliver(metaFixture('ig-text.json'));
    expect(e).toMatchObject({
      id: contactId('instagram', 'ig-main', MID),
      channel: 'instagram',
      kind: 'message',
      direction: 'inbound',
      source: { type: 'bot', key: 'ig-main', name: 'Instagram shop' },
      occurredAt: new Date(1569262485349).toISOString(),
      sender: { identities: [{ kind: 'instagram', value: CLIENT, valid: true }] },
      content: {
        text: 'Hi! Is the blue one still available?',
        message: { vendorMessageId: MID, chatId: CLIENT },
      },
    });
    expect(t.updates).toEqual([{ vendor: 'instagram', kind: 'message', outcome: 'published' }]);
  });

  it('keeps attachments as URL metadata and the message it replies to', async () => {
    const [e] = await deliver(metaFixture('ig-attachments.json'));
    expect(e!.content.message!.attachments).toEqual([
      {
        kind: 'image',
        url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=17952756890784383&signature=AbxVoHUcW7w',
      },
      {
        kind: 'other',
        mimeType: 'instagram/ig_reel',
        name: 'Spring collection',
        url: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18123456789012345&signature=Ab0',
      },
    ]);
    expect(e!.content.message!.replyToVendorMessageId).toMatch(/^aWdfZAG1/);
  });

  it("records the business's own echo as an outbound message with the client, never as inbound", async () => {
    const [e] = await deliver(metaFixture('ig-echo.json'));
    expect(e).toMatchObject({
      direction: 'outbound',
      sender: { identities: [{ kind: 'instagram', value: CLIENT }] },
      content: { text: 'Yes, it is! Which size?', message: { chatId: CLIENT } },
      meta: { echo: true },
    });
    expect(t.updates).toEqual([{ vendor: 'instagram', kind: 'echo', outcome: 'published' }]);
  });

  it('treats a message whose sender is the business account as an echo even without is_echo', async () => {
    const body = metaFixture('ig-echo.json').replace('"is_echo": true', '"is_echo": false');
    const [e] = await deliver(body);
    expect(e!.direction).toBe('outbound');
    expect(e!.sender.identities[0]!.value).toBe(CLIENT);
  });

  it('turns a read receipt into DeliveryStatus read for the business message', async () => {
    await deliver(metaFixture('ig-read.json'));
    const read = JSON.parse(metaFixture('ig-read.json')).entry[0].messaging[0].read.mid as string;
    expect(t.bus.events).toEqual([]);
    expect(t.bus.statuses).toEqual([
      expect.objectContaining({
        id: deliveryStatusId('instagram', 'ig-main', read, 'read'),
        channel: 'instagram',
        vendorMessageId: read,
        status: 'read',
        recipient: { kind: 'instagram', value: CLIENT, valid: true },
      }),
    ]);
  });

  it('turns an edit into the same message marked edited, as its own event', async () => {
    await deliver(metaFixture('ig-text.json'));
    await deliver(metaFixture('ig-edit.json'));
    const [original, edit] = t.bus.events;
    expect(edit!.content).toEqual({
      text: 'Hi! Is the navy one still available?',
      message: { vendorMessageId: MID, chatId: CLIENT, edited: true },
    });
    expect(edit!.id).not.toBe(original!.id);
  });

  it('turns a postback into message.interactive', async () => {
    const [e] = await deliver(metaFixture('ig-postback.json'));
    expect(e!.content.message!.interactive).toEqual({ id: 'TRACK_ORDER', title: 'Track my order' });
  });

  it('acknowledges reactions (ignored), deleted messages and comments (unhandled) without events', async () => {
    await deliver(metaFixture('ig-reaction.json'));
    await deliver(metaFixture('ig-deleted.json'));
    await deliver(metaFixture('ig-comments.json'));
    expect(t.bus.events).toEqual([]);
    expect(t.updates).toEqual([
      { vendor: 'instagram', kind: 'reaction', outcome: 'ignored' },
      { vendor: 'instagram', kind: 'message', outcome: 'unhandled' },
      { vendor: 'instagram', kind: 'field:comments', outcome: 'unhandled' },
    ]);
  });

  it('ignores events that concern another Instagram account', async () => {
    const body = metaFixture('ig-text.json').replaceAll(IG_USER_ID, '17841400000000000');
    expect(await deliver(body)).toEqual([]);
    expect(t.updates).toEqual([{ vendor: 'instagram', kind: 'message', outcome: 'ignored' }]);
  });

  it('gives a redelivered webhook the same event id', async () => {
    await deliver(metaFixture('ig-text.json'));
    await deliver(metaFixture('ig-text.json'));
    expect(t.bus.events[0]!.id).toBe(t.bus.events[1]!.id);
  });

  it('refuses a message without mid, naming the field', async () => {
    const body = JSON.parse(metaFixture('ig-text.json'));
    delete body.entry[0].messaging[0].message.mid;
    const res = await postSigned(t.app, URL, JSON.stringify(body), IG.appSecret);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.fields).toEqual(['entry.0.messaging.0.message.mid']);
  });
});

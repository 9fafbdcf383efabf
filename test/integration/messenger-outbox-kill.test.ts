import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { createMessengerOutbox } from '../../outbound/messengers/outbox.js';
import { createMessengerReply } from '../../outbound/messengers/reply.js';
import { buildConversationApp, type ConversationTestApp } from '../support/conversation-app.js';
import { createTestPg, type TestDatabase } from '../support/db.js';
import { LocalMessenger, localSenderRegistry } from '../support/local-messenger.js';
import { messageEvent } from '../support/messages.js';
import { pgAvailable } from '../support/services.js';

const LEASE_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * "A reply reaches the vendor once under a killed and restarted outbox worker": the worker runs in a process of
 * its own and is SIGKILLed while the vendor holds its request (the vendor has the message; nobody recorded it).
 * A restarted worker takes the row over when the lease expires. PostgreSQL only (two processes share the outbox).
 */
describe.skipIf(!(await pgAvailable()))('messenger outbox killed mid-send, on PostgreSQL', () => {
  let t: TestDatabase;
  let a: ConversationTestApp;
  let vendor: LocalMessenger;
  let child: ChildProcess | undefined;
  const q = async <R = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.query<R>(sql, params)).rows;

  beforeAll(async () => {
    vendor = await new LocalMessenger().start();
    t = await createTestPg();
    a = await buildConversationApp(t, vendor);
  });
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
    vendor.release();
    vendor.dedupe = false;
  });
  afterAll(async () => {
    await a?.app.close();
    await t?.drop();
    await vendor?.stop();
  });

  /** A reply recorded by a request whose process died before sending it (its claim's lease runs out at once). */
  async function recordedReply() {
    const chat = `tg-${randomUUID()}`;
    expect(await a.router.handle([messageEvent({ chat, id: `${chat}-1`, text: 'Hi' })])).toEqual({
      failed: [],
    });
    const [c] = await q<{ id: number }>('SELECT id FROM conversations WHERE chat_id = $1', [chat]);
    const r = await createMessengerReply(
      t.db,
      {
        conversationId: c!.id,
        operatorId: a.ops.anna!,
        idempotencyKey: `kill-${chat}`,
        text: 'Your order shipped',
      },
      { leaseMs: 1 },
    );
    return r.reply;
  }

  function startWorkerProcess(idempotent: boolean): Promise<void> {
    child = spawn(process.execPath, ['--import', 'tsx', 'test/support/messenger-outbox-process.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: t.url!,
        VENDOR_URL: vendor.url,
        LEASE_MS: String(LEASE_MS),
        IDEMPOTENT: idempotent ? '1' : '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return new Promise((resolve, reject) => {
      child!.stdout!.once('data', () => resolve());
      child!.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    });
  }

  /** The worker process sends, the vendor receives it and holds the answer, the process is killed. */
  async function killMidSend(idempotent: boolean) {
    vendor.hold();
    const received = vendor.nextReceived();
    await startWorkerProcess(idempotent);
    await received;
    child!.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    child = undefined;
    vendor.release();
  }

  const restartedWorker = (idempotent: boolean) =>
    createMessengerOutbox({
      db: t.db,
      logger: createLogger({ level: 'silent' }),
      urls: { telegram: vendor.url, meta: vendor.url, vk: vendor.url, viber: vendor.url },
      registry: localSenderRegistry(vendor, ['telegram'], { idempotent }),
      options: { leaseMs: LEASE_MS },
    });

  it('is not sent a second time: the vendor has it once, the message says the send was interrupted', async () => {
    const reply = await recordedReply();
    const before = vendor.deliveries.length;
    await killMidSend(false);
    expect(vendor.deliveries.length).toBe(before + 1);
    expect((await q('SELECT status FROM messenger_outbox WHERE id = $1', [reply.id]))[0]).toEqual({
      status: 'sending',
    });

    const worker = restartedWorker(false);
    await sleep(LEASE_MS + 200);
    expect((await worker.runOnce()).attempted).toBe(1);
    await sleep(300);
    expect((await worker.runOnce()).attempted).toBe(0);
    expect(vendor.deliveries.length).toBe(before + 1);
    const [m] = await q<{ status: string; error: { code: string } }>(
      'SELECT status, error FROM messages WHERE id = $1',
      [reply.message_id],
    );
    expect(m).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
  });

  it('is repeated when the vendor deduplicates by our key: still once at the vendor, and recorded sent', async () => {
    vendor.dedupe = true;
    const reply = await recordedReply();
    const before = vendor.deliveries.length;
    await killMidSend(true);
    const first = vendor.deliveries.at(-1)!;
    const worker = restartedWorker(true);
    await sleep(LEASE_MS + 200);
    expect((await worker.runOnce()).attempted).toBe(1);
    expect(vendor.deliveries.length).toBe(before + 1);
    expect(
      (await q('SELECT status, vendor_message_id FROM messages WHERE id = $1', [reply.message_id]))[0],
    ).toEqual({
      status: 'sent',
      vendor_message_id: first.messageId,
    });
  });

  it('a reply whose request died before sending is sent once by the worker', async () => {
    const reply = await recordedReply();
    const before = vendor.deliveries.length;
    await startWorkerProcess(false);
    const status = async () =>
      (await q<{ status: string }>('SELECT status FROM messages WHERE id = $1', [reply.message_id]))[0]!
        .status;
    for (let i = 0; i < 300 && (await status()) !== 'sent'; i++) await sleep(50);
    await sleep(300); // a second send would come now, if any
    child!.kill('SIGKILL');
    child = undefined;
    expect(vendor.deliveries.length).toBe(before + 1);
    expect(await status()).toBe('sent');
  });
});

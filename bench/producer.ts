/**
 * Chooses the producer's batching and compression by measurement (issue 11): the bus' own ProducerQueue
 * (idempotent, one request in flight, acks -1) sends real bench events the way connectors do — many concurrent
 * publish() calls of one event each — under each setting, and the CPU it costs is counted on both sides: this
 * process (the producer) and the broker's JVM. CPU per message is the figure to compare on a shared machine.
 *
 *   npx tsx bench/producer.ts [--messages=20000] [--callers=64]
 */
import { randomUUID } from 'node:crypto';
import kafkajs, { type Message } from 'kafkajs';
import { ProducerQueue } from '../bus/kafka-producer.js';
import { partitionKey } from '../event/inbound-contact.js';
import { createLogger } from '../lib/logger.js';
import { CpuMeter } from './cpu.js';
import { eventFor } from './events.js';
import { RequestMix } from './mix.js';
import { BROKERS } from './service-process.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const MESSAGES = Number(flag('messages') ?? 20_000);
const CALLERS = Number(flag('callers') ?? 64);

const SETTINGS: { name: string; lingerMs: number; compression: kafkajs.CompressionTypes }[] = [
  { name: 'linger 0 ms, no compression', lingerMs: 0, compression: kafkajs.CompressionTypes.None },
  { name: 'linger 2 ms, no compression (default)', lingerMs: 2, compression: kafkajs.CompressionTypes.None },
  { name: 'linger 5 ms, no compression', lingerMs: 5, compression: kafkajs.CompressionTypes.None },
  { name: 'linger 10 ms, no compression', lingerMs: 10, compression: kafkajs.CompressionTypes.None },
  { name: 'linger 2 ms, gzip', lingerMs: 2, compression: kafkajs.CompressionTypes.GZIP },
];

async function main() {
  const kafka = new kafkajs.Kafka({ clientId: 'bench-producer', brokers: BROKERS, logLevel: 0 });
  const admin = kafka.admin();
  await admin.connect();
  const mix = new RequestMix(0.7);
  const pool: Message[] = Array.from({ length: 2_000 }, () => {
    const e = eventFor(mix.next());
    return { key: partitionKey(e), value: JSON.stringify(e) };
  });
  const logger = createLogger({ level: 'warn' });
  const topics: string[] = [];
  console.log(`producer settings: ${MESSAGES} events, ${CALLERS} concurrent callers of one event each`);
  try {
    for (const round of [1, 2]) {
      for (const st of SETTINGS) {
        const topic = `bench-${randomUUID().slice(0, 8)}-producer`;
        topics.push(topic);
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
        const q = new ProducerQueue({ kafka, logger, lingerMs: st.lingerMs, compression: st.compression });
        await q.connect();
        await q.send(topic, [pool[0]!]); // metadata, producer id
        const meter = new CpuMeter(() => []);
        await meter.begin();
        let next = 0;
        let latency = 0;
        const t0 = Date.now();
        await Promise.all(
          Array.from({ length: CALLERS }, async () => {
            while (next < MESSAGES) {
              const m = pool[next++ % pool.length]!;
              const s = performance.now();
              await q.send(topic, [m]);
              latency += performance.now() - s;
            }
          }),
        );
        const secs = (Date.now() - t0) / 1000;
        const c = await meter.end();
        await q.close();
        const perMsg = (share: number) => ((share * c.seconds * 10) / MESSAGES).toFixed(4);
        console.log(
          `  round ${round}, ${st.name.padEnd(38)} ${Math.round(MESSAGES / secs)
            .toString()
            .padStart(
              6,
            )} msg/s, publish ${(latency / MESSAGES).toFixed(1)} ms mean; CPU per message: producer ${perMsg(c.loadGenerator)} ms, broker ${perMsg(c.kafka)} ms`,
        );
      }
    }
  } finally {
    await admin.deleteTopics({ topics }).catch(() => {});
    await admin.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

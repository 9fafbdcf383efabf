/**
 * CPU per contact of the in-process stages of a contact's path, without HTTP, Kafka or PostgreSQL: thread CPU
 * time (process.cpuUsage) over many events, so the figure barely moves with the machine's other load — the
 * comparable one on a shared machine. Events are the bench's own mix (bench/events.ts: the connectors'
 * builders); the router's plan runs on batches of 500 with the demo regions and nothing known yet.
 *
 *   npx tsx bench/stages.ts [--events=20000] [--rounds=5]
 */
import * as busEvent from '../event/bus-event.js';
import type { InboundContact } from '../event/inbound-contact.js';
import { planBatch } from '../router/plan.js';
import { eventFor } from './events.js';
import { RequestMix } from './mix.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const EVENTS = Number(flag('events') ?? 20_000);
const ROUNDS = Number(flag('rounds') ?? 5);

const regions = [
  {
    id: 1,
    code: 'msk',
    name: 'Moscow',
    strategy: 'round_robin',
    priority: 1,
    default_operator_id: null,
    rules: [
      { kind: 'phone_prefix', value: '+7495' },
      { kind: 'phone_prefix', value: '+7499' },
      { kind: 'form_region', value: 'Moscow' },
      { kind: 'form_city', value: 'Moscow' },
    ],
  },
  {
    id: 2,
    code: 'spb',
    name: 'Saint Petersburg',
    strategy: 'round_robin',
    priority: 2,
    default_operator_id: null,
    rules: [
      { kind: 'phone_prefix', value: '+7812' },
      { kind: 'form_region', value: 'Saint Petersburg' },
      { kind: 'form_city', value: 'Saint Petersburg' },
    ],
  },
] as never;

/** µs of this thread's CPU per item. */
function cpu(items: number, f: () => void): number {
  const t = process.cpuUsage();
  f();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / items;
}

// What the producer does with an event before kafkajs: validation where the code has it, the key, the JSON.
const forPublish =
  (busEvent as { validForPublish?: (e: InboundContact) => unknown }).validForPublish ??
  busEvent.parseBusEvent;

const stages = new Map<string, number[]>();
const add = (k: string, v: number) => stages.set(k, [...(stages.get(k) ?? []), v]);
// One mix for all rounds: new clients stay new (the phone cache must not see a round's numbers twice).
const mix = new RequestMix(0.7);
for (let round = 0; round < ROUNDS; round++) {
  const requests = Array.from({ length: EVENTS }, () => mix.next());
  let events: InboundContact[] = [];
  add(
    'connector: build the event (clean, identities, id, validate)',
    cpu(EVENTS, () => {
      events = requests.map(eventFor);
    }),
  );
  let values: string[] = [];
  add(
    'producer: check + key + JSON before kafkajs',
    cpu(EVENTS, () => {
      values = events.map((e) => {
        forPublish(e);
        busEvent.busEventKey(e);
        return JSON.stringify(e);
      });
    }),
  );
  let consumed: InboundContact[] = [];
  add(
    'router: JSON.parse + validate what it consumes',
    cpu(EVENTS, () => {
      consumed = values.map((v) => busEvent.parseBusEvent(JSON.parse(v)) as InboundContact);
    }),
  );
  const lk = {
    identityOwners: new Map(),
    owners: new Map(),
    messages: new Map(),
    callOwners: new Map(),
    regions,
  };
  add(
    'router: plan (decide in memory, regions), batches of 500',
    cpu(EVENTS, () => {
      for (let i = 0; i < consumed.length; i += 500)
        planBatch(consumed.slice(i, i + 500), lk, { mayCreateLead: () => true });
    }),
  );
}
console.log(
  `CPU per contact by in-process stage, µs (${EVENTS} events × ${ROUNDS} rounds; median, min-max):`,
);
let total = 0;
for (const [name, v] of stages) {
  const s = [...v].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)]!;
  total += median;
  console.log(
    `  ${median.toFixed(1).padStart(6)}  (${s[0]!.toFixed(1)}-${s[s.length - 1]!.toFixed(1)})  ${name}`,
  );
}
console.log(`  ${total.toFixed(1).padStart(6)}  total of the medians`);

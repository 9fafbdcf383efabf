import { describe, expect, it } from 'vitest';
import {
  compareTopic,
  describeMismatch,
  durabilityProblems,
  MAX_MESSAGE_BYTES,
  type TopicState,
} from '../../../bus/kafka-topics.js';

const spec = { topics: ['in'], partitions: 6, replicationFactor: 3, minInsyncReplicas: 2 };
const state = (over: Partial<TopicState> = {}, configs: Record<string, string> = {}): TopicState => ({
  topic: 'in',
  partitions: 6,
  replicationFactor: 3,
  ...over,
  configs: {
    'min.insync.replicas': '2',
    'max.message.bytes': String(MAX_MESSAGE_BYTES),
    'unclean.leader.election.enable': 'false',
    ...configs,
  },
});

describe('durability rule', () => {
  it('accepts RF 1/1, 2/1, 2/2, 3/2, 3/3 and refuses one replica of three, min ISR above RF, acks other than all', () => {
    for (const [rf, isr] of [
      [1, 1],
      [2, 1],
      [2, 2],
      [3, 2],
      [3, 3],
    ] as const)
      expect(durabilityProblems(rf, isr)).toEqual([]);
    expect(durabilityProblems(3, 1)[0]).toMatch(/single replica/);
    expect(durabilityProblems(2, 3)[0]).toMatch(/every write would be refused/);
    expect(durabilityProblems(3, 2, 1)[0]).toMatch(/acks must be -1/);
  });
});

describe('existing topic vs configuration', () => {
  it('finds nothing when the topic is what the configuration asks for', () => {
    expect(compareTopic(spec, state())).toEqual([]);
  });
  it('refuses a lower min.insync.replicas, naming topic, setting, configured and actual, and the fix', () => {
    const [m, ...more] = compareTopic(spec, state({}, { 'min.insync.replicas': '1' }));
    expect(m).toMatchObject({ topic: 'in', configured: '2', actual: '1', severity: 'fatal' });
    expect(describeMismatch(m!)).toMatch(
      /^in: min.insync.replicas \(KAFKA_MIN_INSYNC_REPLICAS\) is 1, configured 2 .*--add-config min.insync.replicas=2/,
    );
    expect(more.map((x) => x.why).join()).toMatch(/single replica/); // the RF-3 rule says it too
  });
  it('refuses fewer replicas, a smaller max.message.bytes and unclean leader election', () => {
    const ms = compareTopic(
      spec,
      state(
        { replicationFactor: 2 },
        { 'max.message.bytes': '1048588', 'unclean.leader.election.enable': 'true' },
      ),
    );
    expect(ms.map((m) => [m.setting, m.severity])).toEqual([
      ['replication factor (KAFKA_REPLICATION_FACTOR)', 'fatal'],
      ['max.message.bytes', 'fatal'],
      ['unclean.leader.election.enable', 'fatal'],
    ]);
  });
  it('only warns about a different partition count (the service never re-partitions)', () => {
    expect(compareTopic(spec, state({ partitions: 12 }))).toEqual([
      expect.objectContaining({ configured: '6', actual: '12', severity: 'warn' }),
    ]);
  });
});

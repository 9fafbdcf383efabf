import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../api/metrics.js';
import type { ConsumerHealth } from '../../../bus/kafka-consumer.js';

describe('bus consumer metrics', () => {
  it('show rebuilds by reason, the last commit and the stall, read at scrape time', async () => {
    const m = createMetrics();
    let health: ConsumerHealth = { rebuilds: {}, lastCommitAt: undefined, stalledSeconds: 0 };
    m.watchBus(() => health);
    expect(await m.registry.metrics()).toContain('bus_consumer_stalled_seconds 0');
    health = {
      rebuilds: { 'commit-failed': 2, 'heartbeat-stalled': 1 },
      lastCommitAt: 1_700_000_000_000,
      stalledSeconds: 12.5,
    };
    const text = await m.registry.metrics();
    expect(text).toContain('bus_consumer_rebuilds_total{reason="commit-failed"} 2');
    expect(text).toContain('bus_consumer_rebuilds_total{reason="heartbeat-stalled"} 1');
    expect(text).toContain('bus_consumer_last_commit_timestamp_seconds 1700000000');
    expect(text).toContain('bus_consumer_stalled_seconds 12.5');
    // Totals, not increments: a second scrape shows the same numbers.
    expect(await m.registry.metrics()).toContain('bus_consumer_rebuilds_total{reason="commit-failed"} 2');
  });
});

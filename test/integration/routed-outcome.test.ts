import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, routedOutcome } from '../../api/metrics.js';
import { createLogger } from '../../lib/logger.js';
import { createRouter, type Router } from '../../router/router.js';
import { createTestPglite, type TestDatabase } from '../support/db.js';
import { formEvent } from '../support/events.js';

/** router_events_total{outcome}: a new lead is counted as new_lead, later contacts on that lead as lead. */
describe('router_events_total outcomes', () => {
  let t: TestDatabase;
  let router: Router;
  const metrics = createMetrics();
  beforeAll(async () => {
    t = await createTestPglite();
    router = createRouter({
      db: t.db,
      logger: createLogger({ level: 'silent' }),
      callbackDeadlineMin: 30,
      meaningfulCallSec: 60,
      onRouted: (_events, outcomes) => {
        for (const o of outcomes) metrics.routed.inc({ channel: 'webform', outcome: routedOutcome(o) });
      },
    });
  });
  afterAll(async () => t?.drop());

  it('tells the event that made a lead from the events that joined it, in one batch and in the next', async () => {
    await router.handle([formEvent({ phone: '+74951112233' }), formEvent({ phone: '84951112233' })]);
    await router.handle([formEvent({ phone: '+7 495 111-22-33' })]);
    const counted = (await metrics.registry.getSingleMetric('router_events_total')!.get()).values;
    const by = Object.fromEntries(counted.map((v) => [v.labels.outcome, v.value]));
    expect(by).toEqual({ new_lead: 1, lead: 2 });
  });
});

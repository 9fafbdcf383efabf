import { randomInt, randomUUID } from 'node:crypto';
import { DEMO_LINE_SECRET } from '../app/demo-seed.js';

/**
 * The request mix: `newShare` of requests are web forms from clients never seen before, the rest come from
 * clients already sent (half a call record from the same number written another way, half another form).
 * Everything targets the demo form and the demo telephony line that DEMO_SEED creates.
 */
export interface BenchRequest {
  method: 'POST';
  path: string;
  headers: Record<string, string>;
  body: string;
  kind: 'new' | 'repeat';
}

const AREAS = ['495', '499', '812', '383', '343'];
const REGION_OF: Record<string, string | undefined> = {
  '495': 'Moscow',
  '499': 'Moscow',
  '812': 'Saint Petersburg',
};
const FORM_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const CALL_HEADERS = { ...FORM_HEADERS, authorization: `Bearer ${DEMO_LINE_SECRET}` };
const MESSAGE =
  'Hello! I would like to know more about your offer and the delivery terms for my region. Please call me back in the afternoon.';

function written(area: string, sub: string, style: number): string {
  const [a, b, c] = [sub.slice(0, 3), sub.slice(3, 5), sub.slice(5, 7)];
  switch (style % 5) {
    case 0:
      return `+7 (${area}) ${a}-${b}-${c}`;
    case 1:
      return `8 ${area} ${a} ${b} ${c}`;
    case 2:
      return `8${area}${sub}`;
    case 3:
      return `+7${area}${sub}`;
    default:
      return `7-${area}-${a}-${b}-${c}`;
  }
}

export class RequestMix {
  private n = 0;
  private readonly base = randomInt(0, 5_000_000);
  /** Clients already sent, as [area, subscriber]; a bounded ring so repeats stay recent-ish. */
  private readonly known: [string, string][] = [];
  private knownNext = 0;

  constructor(
    private readonly newShare = 0.7,
    private readonly knownMax = 20_000,
  ) {}

  next(): BenchRequest {
    if (this.known.length > 0 && Math.random() >= this.newShare) return this.repeat();
    const i = this.n++;
    const area = AREAS[i % AREAS.length]!;
    const sub = String(1_000_000 + ((this.base + i) % 9_000_000)).slice(-7);
    if (this.known.length < this.knownMax) this.known.push([area, sub]);
    else this.known[this.knownNext++ % this.knownMax] = [area, sub];
    const region = REGION_OF[area];
    return {
      method: 'POST',
      path: '/v1/forms/demo',
      headers: FORM_HEADERS,
      kind: 'new',
      body: JSON.stringify({
        name: `Bench Client ${i}`,
        phone: written(area, sub, i),
        ...(i % 2 === 0 && { email: `client${this.base + i}@bench.example.com` }),
        message: MESSAGE,
        ...(region && i % 3 !== 0 && { region }),
        utm_source: 'bench',
        utm_campaign: 'load',
      }),
    };
  }

  private repeat(): BenchRequest {
    const [area, sub] = this.known[randomInt(0, this.known.length)]!;
    const style = randomInt(0, 5);
    if (Math.random() < 0.5) {
      return {
        method: 'POST',
        path: '/v1/forms/demo',
        headers: FORM_HEADERS,
        kind: 'repeat',
        body: JSON.stringify({
          name: 'Returning client',
          phone: written(area, sub, style),
          message: 'Me again.',
        }),
      };
    }
    const missed = Math.random() < 0.5;
    const duration = randomInt(10, 300);
    return {
      method: 'POST',
      path: '/v1/telephony/generic',
      headers: CALL_HEADERS,
      kind: 'repeat',
      body: JSON.stringify({
        line: 'demo',
        direction: 'inbound',
        from: written(area, sub, style),
        to: '+74950000000',
        startedAt: new Date(Date.now() - duration * 1000).toISOString(),
        ...(missed ? {} : { answeredAt: new Date(Date.now() - (duration - 5) * 1000).toISOString() }),
        endedAt: new Date().toISOString(),
        duration,
        status: missed ? 'missed' : 'answered',
        externalCallId: randomUUID(),
      }),
    };
  }
}

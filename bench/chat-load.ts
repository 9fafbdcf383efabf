import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { throttle, WORK_REFETCH_EVERY_MS, WORK_TOUCH_REFETCH_EVERY_MS } from '../console/ui/throttle.js';

/**
 * The chat bench's load generator (bench/chat.ts), a child process driven over IPC so that thousands of sockets
 * do not share an event loop with the bench's own bookkeeping: `node --import tsx bench/chat-load.ts`.
 *
 * - visitors: website visitors on GET /v1/widget/ws, each with its own visitor token and X-Forwarded-For address
 *   (the service runs with TRUST_PROXY, so per-address limits apply per visitor, as on the web), spread over the
 *   API instances; they send messages on an open-loop schedule and time the operators' replies they are shown.
 * - operators: signed in with login and password (POST /v1/session), presence online, a console socket each,
 *   doing what the console does: refetch the work list on `work.changed` (throttled as console/ui does) and
 *   subscribe to their conversations; they time visitors' messages and reply over REST.
 *
 * Every text carries its send time (epoch ms, this machine's clock, shared by all processes), so the receiving
 * process computes the latency; latency counts from the *scheduled* send time, so a stalled generator cannot
 * hide queueing. `w` (warm-up) and `m` (measured) in the text tell the phases apart.
 */
export type LoadCommand =
  | {
      cmd: 'visitors';
      urls: string[];
      widget: string;
      origin: string;
      count: number;
      /** Visitor numbering starts here (distinct addresses across load processes). */
      firstIndex: number;
      connectPerSec: number;
    }
  | { cmd: 'operators'; urls: string[]; accounts: { login: string; password: string }[] }
  | { cmd: 'open'; perSec: number }
  | { cmd: 'run'; perSec: number; warmupSec: number; seconds: number }
  | { cmd: 'reply'; probability: number }
  /** Operators: refetch the work list on `work.changed` (on by default, as the console does). */
  | { cmd: 'worklist'; on: boolean }
  | { cmd: 'status' }
  | { cmd: 'results' };

export interface VisitorResults {
  sent: number;
  /** Visitor send → ack (durable on the bus), measured phase. */
  ack: number[];
  /** Operator reply sent (REST) → the visitor's socket shows it, measured phase. */
  reply: number[];
  errors: Record<string, number>;
  closed: number;
}

export interface OperatorResults {
  /** Visitor message → message.created on the responsible operator's socket, measured phase. */
  message: number[];
  replies: { sent: number; byStatus: Record<string, number>; rest: number[] };
  work: { fetches: number; latency: number[] };
  errors: Record<string, number>;
  closed: number;
}

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const wsUrl = (http: string) => http.replace(/^http/, 'ws');
const errors: Record<string, number> = {};
const count = (what: string) => {
  errors[what] = (errors[what] ?? 0) + 1;
};
let closed = 0;

/** One frame from the server, awaited with a time limit (connection set-up). */
function opened(ws: WebSocket, first: string, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no hello in time'));
    }, timeoutMs);
    ws.once('message', (raw) => {
      clearTimeout(timer);
      const f = JSON.parse(String(raw)) as Record<string, unknown>;
      if (f.type === first) resolve(f);
      else reject(new Error(`first frame ${String(f.type)}`));
    });
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      reject(new Error(`closed ${code} ${String(reason)}`));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

// ---------------------------------------------------------------------------------------------- visitors

interface Visitor {
  ws: WebSocket;
  pending: Map<string, number>;
  opened: boolean;
}

const visitors: Visitor[] = [];
const vr: VisitorResults = { sent: 0, ack: [], reply: [], errors, closed: 0 };
let openAcks = 0;

async function connectVisitors(c: Extract<LoadCommand, { cmd: 'visitors' }>) {
  const gap = 1_000 / c.connectPerSec;
  const start = now();
  const jobs: Promise<void>[] = [];
  for (let i = 0; i < c.count; i++) {
    const wait = start + i * gap - now();
    if (wait > 0) await sleep(wait);
    const n = c.firstIndex + i + 1;
    const url = c.urls[n % c.urls.length]!;
    jobs.push(connectVisitor(url, c, n).catch((err) => count(`connect: ${(err as Error).message}`)));
  }
  await Promise.all(jobs);
  return { connected: visitors.length };
}

async function connectVisitor(url: string, c: Extract<LoadCommand, { cmd: 'visitors' }>, n: number) {
  const token = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    widget: c.widget,
    visitor: token,
    page: `${c.origin}/catalog?utm_source=bench`,
  });
  const ws = new WebSocket(`${wsUrl(url)}/v1/widget/ws?${q}`, {
    origin: c.origin,
    headers: { 'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` },
    perMessageDeflate: false,
  });
  await opened(ws, 'hello', 30_000);
  const v: Visitor = { ws, pending: new Map(), opened: false };
  visitors.push(v);
  ws.on('message', (raw) => onVisitorFrame(v, String(raw)));
  ws.on('close', () => {
    closed += 1;
  });
  ws.on('error', () => {});
}

function onVisitorFrame(v: Visitor, raw: string) {
  const at = now();
  const f = JSON.parse(raw) as { type: string; clientId?: string; code?: string; message?: unknown };
  if (f.type === 'ack' && f.clientId) {
    const t = v.pending.get(f.clientId);
    v.pending.delete(f.clientId);
    if (t === -1) {
      v.opened = true;
      openAcks += 1;
    } else if (t !== undefined && t > 0) vr.ack.push(at - t);
  } else if (f.type === 'message') {
    const m = f.message as { direction?: string; text?: string };
    const [kind, phase, sentAt] = (m.text ?? '').split(' ');
    if (m.direction === 'out' && kind === 'reply' && phase === 'm') vr.reply.push(at - Number(sentAt));
  } else if (f.type === 'error') count(`visitor error ${f.code}`);
}

function send(v: Visitor, text: string, t: number) {
  const clientId = randomUUID();
  v.pending.set(clientId, t);
  v.ws.send(JSON.stringify({ type: 'message', clientId, text }));
}

/** Each visitor's first message: it opens the conversation the operators will subscribe to. */
async function openConversations(perSec: number) {
  const start = now();
  for (let i = 0; i < visitors.length; i++) {
    const wait = start + (i * 1_000) / perSec - now();
    if (wait > 0) await sleep(wait);
    const v = visitors[i]!;
    if (v.ws.readyState === v.ws.OPEN) send(v, `open ${i}`, -1);
  }
  const deadline = now() + 60_000;
  while (openAcks < visitors.length && now() < deadline) await sleep(50);
  return { acked: openAcks };
}

/** Open loop: message k is due at start + k/rate, whatever happened to the ones before. */
async function runVisitors(c: Extract<LoadCommand, { cmd: 'run' }>) {
  const ready = visitors.filter((v) => v.opened);
  if (!ready.length) return { sent: 0 };
  const start = now() + 50;
  const measureFrom = start + c.warmupSec * 1_000;
  const end = measureFrom + c.seconds * 1_000;
  let k = 0;
  for (;;) {
    const t = now();
    if (t >= end) break;
    for (; start + (k * 1_000) / c.perSec <= t; k++) {
      const due = start + (k * 1_000) / c.perSec;
      if (due >= end) break;
      const v = ready[k % ready.length]!;
      if (v.ws.readyState !== v.ws.OPEN) continue;
      const phase = due >= measureFrom ? 'm' : 'w';
      if (phase === 'm') vr.sent += 1;
      send(v, `msg ${phase} ${due.toFixed(3)}`, phase === 'm' ? due : -2);
    }
    await sleep(2);
  }
  return { sent: vr.sent };
}

// --------------------------------------------------------------------------------------------- operators

interface Operator {
  id: number;
  url: string;
  cookie: string;
  csrf: string;
  ws: WebSocket;
  subscribed: Set<number>;
  planned?: ReturnType<typeof throttle>;
  slow?: ReturnType<typeof throttle>;
  /** Conversations in the last work list fetched. */
  listed: Set<number>;
  fetching: boolean;
  again: boolean;
}

const operators: Operator[] = [];
const or: OperatorResults = {
  message: [],
  replies: { sent: 0, byStatus: {}, rest: [] },
  work: { fetches: 0, latency: [] },
  errors,
  closed: 0,
};
let replyProbability = 0;
let workList = true;
const seen = new Set<number>();

async function connectOperators(c: Extract<LoadCommand, { cmd: 'operators' }>) {
  await Promise.all(
    c.accounts.map((a, i) =>
      connectOperator(c.urls[i % c.urls.length]!, a).catch((err) =>
        count(`operator ${a.login}: ${(err as Error).message}`),
      ),
    ),
  );
  return { connected: operators.length };
}

async function connectOperator(url: string, a: { login: string; password: string }) {
  const r = await fetch(`${url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify(a),
  });
  if (r.status !== 200) throw new Error(`sign-in ${r.status} ${await r.text()}`);
  const me = (await r.json()) as { operator: { id: number }; csrfToken: string };
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  const status = await fetch(`${url}/v1/operators/me/status`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', origin: url, cookie, 'x-csrf-token': me.csrfToken },
    body: JSON.stringify({ status: 'online' }),
  });
  if (status.status !== 200) throw new Error(`presence ${status.status} ${await status.text()}`);
  const ws = new WebSocket(`${wsUrl(url)}/v1/console/ws`, {
    origin: url,
    headers: { cookie },
    perMessageDeflate: false,
  });
  await opened(ws, 'hello', 30_000);
  const o: Operator = {
    id: me.operator.id,
    url,
    cookie,
    csrf: me.csrfToken,
    ws,
    subscribed: new Set(),
    listed: new Set(),
    fetching: false,
    again: false,
  };
  operators.push(o);
  ws.on('message', (raw) => onConsoleFrame(o, String(raw)));
  ws.on('close', () => {
    closed += 1;
  });
  ws.on('error', () => {});
  await refetch(o);
}

function onConsoleFrame(o: Operator, raw: string) {
  const at = now();
  const f = JSON.parse(raw) as {
    type: string;
    code?: string;
    conversationId?: number;
    message?: { id: number; direction: string; text: string | null };
  };
  if (f.type === 'work.changed' && workList) {
    // As console/ui/work-list.tsx (console/ui/throttle.ts): a listed conversation's notice is patched in place
    // (counters refetched every 30 s at most); anything else 150 ms after a first notice, then every 2 s at most.
    o.planned ??= throttle(() => void refetch(o), WORK_REFETCH_EVERY_MS);
    o.slow ??= throttle(() => void refetch(o), WORK_TOUCH_REFETCH_EVERY_MS, WORK_TOUCH_REFETCH_EVERY_MS);
    if (f.conversationId !== undefined && o.listed.has(f.conversationId)) o.slow.trigger();
    else o.planned.trigger();
  } else if (f.type === 'message.created' && f.message?.direction === 'inbound') {
    const [kind, phase, sentAt] = (f.message.text ?? '').split(' ');
    if (kind !== 'msg' || seen.has(f.message.id)) return;
    seen.add(f.message.id);
    if (phase === 'm') or.message.push(at - Number(sentAt));
    if (Math.random() < replyProbability) void reply(o, f.conversationId!, phase!);
  } else if (f.type === 'error') count(`console error ${f.code}`);
}

async function refetch(o: Operator): Promise<void> {
  if (o.fetching) {
    o.again = true;
    return;
  }
  o.fetching = true;
  try {
    const t = now();
    const r = await fetch(`${o.url}/v1/console/work?limit=1000`, { headers: { cookie: o.cookie } });
    const body = (await r.json()) as { items?: { kind: string; id: number; responsibleId: number | null }[] };
    or.work.fetches += 1;
    or.work.latency.push(now() - t);
    if (r.status !== 200) return count(`work list ${r.status}`);
    o.listed = new Set((body.items ?? []).filter((it) => it.kind === 'conversation').map((it) => it.id));
    for (const it of body.items ?? []) {
      if (it.kind !== 'conversation' || it.responsibleId !== o.id || o.subscribed.has(it.id)) continue;
      o.subscribed.add(it.id);
      o.ws.send(JSON.stringify({ type: 'subscribe', conversationId: it.id }));
    }
  } catch (err) {
    count(`work list: ${(err as Error).message}`);
  } finally {
    o.fetching = false;
    if (o.again) {
      o.again = false;
      void refetch(o);
    }
  }
}

async function reply(o: Operator, conversationId: number, phase: string) {
  const t = now();
  if (phase === 'm') or.replies.sent += 1;
  try {
    const r = await fetch(`${o.url}/v1/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: o.url,
        cookie: o.cookie,
        'x-csrf-token': o.csrf,
        'idempotency-key': randomUUID(),
      },
      body: JSON.stringify({ text: `reply ${phase} ${t.toFixed(3)}` }),
    });
    await r.arrayBuffer();
    if (phase !== 'm') return;
    or.replies.rest.push(now() - t);
    or.replies.byStatus[r.status] = (or.replies.byStatus[r.status] ?? 0) + 1;
  } catch (err) {
    count(`reply: ${(err as Error).message}`);
  }
}

// ------------------------------------------------------------------------------------------------- IPC

async function handle(c: LoadCommand): Promise<unknown> {
  switch (c.cmd) {
    case 'visitors':
      return connectVisitors(c);
    case 'operators':
      return connectOperators(c);
    case 'open':
      return openConversations(c.perSec);
    case 'run':
      return runVisitors(c);
    case 'reply':
      replyProbability = c.probability;
      return {};
    case 'worklist':
      workList = c.on;
      return {};
    case 'status':
      return {
        subscribed: operators.reduce((n, o) => n + o.subscribed.size, 0),
        received: or.message.length,
        replies: vr.reply.length,
        acks: vr.ack.length,
        workFetches: or.work.fetches,
        repliesSent: or.replies.sent,
      };
    case 'results':
      vr.closed = closed;
      or.closed = closed;
      return operators.length ? or : vr;
  }
}

process.on('message', (msg: { id: number; command: LoadCommand }) => {
  handle(msg.command).then(
    (result) => process.send?.({ id: msg.id, result }),
    (err) => process.send?.({ id: msg.id, error: String((err as Error)?.stack ?? err) }),
  );
});
// The bench gone (Ctrl-C, crash): so is its load.
process.on('disconnect', () => process.exit(0));

import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

/**
 * kafkajs 2.2.4 (unmaintained) could end in a microtask loop when a consumer was stopped while its fetchers
 * were being rebalanced (a broker left the cluster as our consumer rebuild disconnected the old consumer): the
 * fetch manager created new fetchers after the stop, and they looped on runner.fetch(), which answers [] at
 * once when the runner no longer runs. The process then took a whole core and never ran a timer again. We patch
 * kafkajs (patches/kafkajs+2.2.4.patch, applied by patch-package at install); this drives kafkajs' own fetch
 * manager through that race. It runs in a worker thread, because a regression would starve this thread's
 * event loop and no test timeout could fire.
 */
const SCENARIO = `
const { parentPort } = require('node:worker_threads');
const { createRequire } = require('node:module');
const req = createRequire(${JSON.stringify(`${process.cwd()}/package.json`)});
const createFetchManager = req('kafkajs/src/consumer/fetchManager');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const noop = () => {};
let fm;
let running = true;
let nodeIds = [1, 2];
let stops = 0;
const logger = { namespace: () => logger, debug: (msg) => {
  // The first 'Stopping fetchers' is the manager's own, after a rebalance error: the runner stops right then.
  if (msg === 'Stopping fetchers...' && ++stops === 1) { running = false; void fm.stop(); }
}, info: noop, warn: noop, error: noop };
fm = createFetchManager({
  logger,
  getNodeIds: () => nodeIds,
  // As runner.fetch: [] at once when the runner is not running; node 2's fetch is slow (a long poll).
  fetch: async (nodeId) => { if (!running) return []; await sleep(nodeId === 2 ? 200 : 5); return []; },
  handler: async () => {},
  concurrency: 1,
});
const started = fm.start();
setTimeout(() => { nodeIds = [2]; }, 30); // node 1 left the cluster: its next fetch asks for a rebalance
started.then(() => parentPort.postMessage('returned'), (e) => parentPort.postMessage('threw ' + e.name));
`;

describe('kafkajs fetch manager (patched)', () => {
  it('stops for good when the consumer stops during a fetcher rebalance, instead of spinning', async () => {
    const worker = new Worker(SCENARIO, { eval: true });
    const outcome = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('no answer: the worker is spinning'), 5_000);
      worker.once('message', (m: string) => {
        clearTimeout(timer);
        resolve(m);
      });
      worker.once('error', (e) => resolve(`worker error ${e.message}`));
    });
    await worker.terminate();
    expect(outcome).toBe('returned');
  });
});

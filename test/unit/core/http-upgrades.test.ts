import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { serveUpgrades } from '../../../lib/http-upgrades.js';

/** One upgrade dispatcher per server: its paths are served, any other path is refused at once with 404. */
describe('serveUpgrades', () => {
  let server: Server;
  let url: string;
  const wss = new WebSocketServer({ noServer: true });
  beforeAll(async () => {
    server = createServer((_req, res) => res.end());
    serveUpgrades(server, '/v1/a/ws', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => ws.send('hello a')),
    );
    const stopB = serveUpgrades(server, '/v1/b/ws', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => ws.send('hello b')),
    );
    stopB(); // no longer served
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    wss.close();
    // Bounded: an upgrade left unanswered (the bug this guards against) would keep close() waiting.
    await Promise.race([new Promise((r) => server.close(r)), new Promise((r) => setTimeout(r, 1_000))]);
  });

  const open = (path: string) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(url + path);
      const timer = setTimeout(() => {
        ws.terminate();
        resolve('no answer');
      }, 3_000);
      ws.on('message', (m) => {
        clearTimeout(timer);
        resolve(String(m));
        ws.close();
      });
      ws.on('unexpected-response', (_req, res) => {
        clearTimeout(timer);
        resolve(`HTTP ${res.statusCode}`);
      });
      ws.on('error', () => {});
    });

  it('serves its path', async () => {
    expect(await open('/v1/a/ws?x=1')).toBe('hello a');
  });

  it('answers 404 at once for a path nobody serves, or no longer serves', async () => {
    expect(await open('/v1/nothing/ws')).toBe('HTTP 404');
    expect(await open('/v1/b/ws')).toBe('HTTP 404');
  });
});

import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Per HTTP server: its WebSocket paths and their handlers. */
const servers = new WeakMap<Server, Map<string, UpgradeHandler>>();

/**
 * Serves WebSocket upgrades on one path of a server (the console's socket, the live chat's). One dispatcher per
 * server takes every upgrade: a path nobody serves here is answered 404 at once, where separate listeners that
 * each ignore the others' paths would leave it unanswered until the client gives up. Returns the function that
 * stops serving the path.
 */
export function serveUpgrades(server: Server, path: string, handler: UpgradeHandler): () => void {
  let paths = servers.get(server);
  if (!paths) {
    const table = new Map<string, UpgradeHandler>();
    paths = table;
    servers.set(server, table);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const served = table.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (served) return served(req, socket, head);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }
  paths.set(path, handler);
  return () => {
    if (paths.get(path) === handler) paths.delete(path);
  };
}

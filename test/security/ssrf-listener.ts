import dc from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A loopback HTTP server that counts every TCP connection it accepts. */
export interface CountingListener {
  port: number;
  connections: () => number;
  close: () => Promise<void>;
}

/** Starts a {@link CountingListener} on 127.0.0.1 and a random port; it answers every request 200. */
export async function startCountingListener(): Promise<CountingListener> {
  let connections = 0;
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"data":[]}');
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const PASS_THROUGH = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', 'localhost']);

/**
 * Watches every plain-TCP client socket this process opens (`net.client.socket`) and stops, before
 * it connects (and records), any whose host is an IP address other than a plain loopback one: if the guard under
 * test ever let a special address through, no packet would leave this machine. Host names pass,
 * because tests resolve them with an injected resolver that lists 127.0.0.1 first.
 */
export function installTripwire(): { stopped: string[]; uninstall: () => void } {
  const stopped: string[] = [];
  const onSocket = (message: unknown) => {
    const socket = (message as { socket: Socket }).socket;
    const connect = socket.connect.bind(socket) as (...args: unknown[]) => Socket;
    (socket as unknown as { connect: (...args: unknown[]) => Socket }).connect = (...args: unknown[]) => {
      const first = Array.isArray(args[0]) ? args[0][0] : args[0];
      const host = String((first as { host?: string })?.host ?? '');
      if (PASS_THROUGH.has(host) || !/^[\d.]+$|:/.test(host)) return connect(...args);
      stopped.push(host);
      process.nextTick(() => socket.destroy(new Error(`tripwire: stopped a connection to ${host}`)));
      return socket;
    };
  };
  dc.subscribe('net.client.socket', onSocket);
  return { stopped, uninstall: () => dc.unsubscribe('net.client.socket', onSocket) };
}

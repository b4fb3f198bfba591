import { connect, createServer, Socket } from 'node:net';
import type { AppConfig } from '../../src/config/config';
import { RedisConnections } from '../../src/redis/redis.module';

/** The machine's Redis (started by .ci/run). */
export const REDIS_URL = process.env.TENSORIFY_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** The server's own Redis connections (same options as in production), for `url`. Close with `onApplicationShutdown()`. */
export function redisConnections(url = REDIS_URL): RedisConnections {
  return new RedisConnections({ redisUrl: url } as AppConfig);
}

/** A loopback port where nothing listens (it was free a moment ago): connections to it are refused. */
export async function unusedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RedisProxy {
  /** `redis://` URL of the proxy. */
  url: string;
  /** Holds all traffic (a Redis that hangs): nothing is forwarded until `restore()`. */
  freeze(): void;
  /** Drops every connection and refuses new ones (Redis unreachable). */
  cut(): Promise<void>;
  /** Forwards again, held traffic first, and accepts connections on the same port again. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP proxy in front of Redis that a test can freeze or cut, to play a hung or unreachable Redis. */
export async function redisProxy(target = REDIS_URL): Promise<RedisProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const pairs = new Set<{ client: Socket; upstream: Socket; held: Array<[Socket, Buffer]> }>();
  let frozen = false;
  const server = createServer((client) => {
    const upstream = connect(Number(targetPort || 6379), hostname);
    const pair = { client, upstream, held: [] as Array<[Socket, Buffer]> };
    pairs.add(pair);
    const forward = (to: Socket) => (chunk: Buffer) => (frozen ? pair.held.push([to, chunk]) : to.write(chunk));
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen(0);
  const { port } = server.address() as { port: number };
  const cut = async () => {
    for (const pair of pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    pairs.clear();
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: () => (frozen = true),
    cut,
    async restore() {
      frozen = false;
      for (const pair of pairs) pair.held.splice(0).forEach(([to, chunk]) => to.write(chunk));
      if (!server.listening) await listen(port);
    },
    close: cut,
  };
}

import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** One connection through the proxy: what the client sent (its requests' heads) and the bytes forwarded back. */
export interface ProxiedConnection {
  sent: string;
  forwarded: number;
  client: Socket;
  upstream: Socket;
}

export interface TcpProxyOptions {
  /** Cut each connection (both sides) once this many bytes of the server's answers have been forwarded: the rest is never delivered. */
  cutAfterBytes?: number;
  /**
   * Called with a connection and the server's next bytes before they are forwarded; returning
   * true cuts the connection instead (those bytes are lost).
   */
  dropResponse?: (connection: ProxiedConnection) => boolean;
}

/**
 * A TCP proxy on a loopback port in front of `target` (host:port), for tests that lose a
 * connection on purpose: `cut()` closes every open connection at once, as a network failure would,
 * and new connections are still accepted afterwards.
 */
export class TcpProxy {
  readonly connections: ProxiedConnection[] = [];
  private readonly server: Server;

  private constructor(
    private readonly target: { host: string; port: number },
    readonly options: TcpProxyOptions,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(targetUrl: string, options: TcpProxyOptions = {}): Promise<TcpProxy> {
    const url = new URL(targetUrl);
    const proxy = new TcpProxy({ host: url.hostname, port: Number(url.port) }, options);
    await new Promise<void>((done) => proxy.server.listen(0, '127.0.0.1', done));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Destroys every open connection (client and server side). */
  cut(): void {
    for (const connection of this.connections) {
      connection.client.destroy();
      connection.upstream.destroy();
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((done) => this.server.close(() => done()));
  }

  private accept(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    const connection: ProxiedConnection = { sent: '', forwarded: 0, client, upstream };
    this.connections.push(connection);
    const destroy = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      connection.sent += chunk.toString('latin1');
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (client.destroyed) return;
      if (this.options.dropResponse?.(connection)) return destroy();
      const limit = this.options.cutAfterBytes;
      if (limit !== undefined && connection.forwarded >= limit) return;
      if (limit !== undefined && connection.forwarded + chunk.length >= limit) {
        const part = chunk.subarray(0, limit - connection.forwarded);
        connection.forwarded += part.length;
        client.write(part, destroy);
        return;
      }
      connection.forwarded += chunk.length;
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', destroy);
    upstream.on('error', destroy);
    client.on('close', destroy);
    upstream.on('close', destroy);
  }
}

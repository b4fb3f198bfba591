import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type * as Ssh2 from 'ssh2';
import type { Client, ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import { ExecutorUnavailableError } from '../contract';
import type { ResolvedSshLogin, SshTarget } from './config';
import { hostKeyAlgorithms, readKnownHosts, verifyHostKey, type HostKeyVerdict } from './known-hosts';

/*
 * ssh2 is loaded on the first connection rather than with this module: the server loads the `ssh`
 * and `slurm` plugins (and so this module) at every boot, and loading ssh2 cost it some 25 ms of
 * CPU before the first request, on servers that may never connect anywhere. It is resolved here,
 * though, so that a plugin without ssh2 installed still fails as it loads, as it always has.
 */
const SSH2 = require.resolve('ssh2');

function ssh2(): typeof Ssh2 {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a require, not an import: an import would load it with this module
  return require(SSH2) as typeof Ssh2;
}

/** What connecting needs besides the host. */
export interface ConnectSettings {
  knownHostsPath: string;
  acceptUnknownHostKeys: boolean;
  connectTimeoutMs: number;
  /** Told (loudly) every time an unknown host key is accepted. */
  onUnknownKeyAccepted(message: string): void;
  signal?: AbortSignal;
}

/** Thrown by {@link connect} when its signal aborts. */
export class ConnectAborted extends Error {
  override readonly name = 'ConnectAborted';
}

/** A single-quoted word for a POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

interface Hop {
  /** How errors name this hop. */
  label: string;
  host: string;
  port: number;
  auth: ResolvedSshLogin;
}

/**
 * Connects and logs in to a host, through its jump host if it has one, verifying every host key.
 * Rejects with ExecutorUnavailableError naming the host by its label (`ssh executor: host gpu1
 * (10.0.0.5:22): connection refused`) within the connect timeout, or with ConnectAborted.
 */
export async function connect(host: SshTarget, settings: ConnectSettings): Promise<Connection> {
  const prefix = host.label;
  const deadline = Date.now() + settings.connectTimeoutMs;
  if (!host.jump) {
    const client = await connectHop({ label: prefix, host: host.host, port: host.port, auth: host }, undefined, settings, deadline);
    return new Connection(client, undefined);
  }
  const jump = host.jump;
  const jumpClient = await connectHop(
    { label: `${prefix}: its jump host ${jump.host}:${jump.port}`, host: jump.host, port: jump.port, auth: jump },
    undefined,
    settings,
    deadline,
  );
  try {
    const stream = await new Promise<ClientChannel>((resolve, reject) => {
      jumpClient.forwardOut('127.0.0.1', 0, host.host, host.port, (error, channel) => (error ? reject(error) : resolve(channel)));
    }).catch((error: Error) => {
      throw new ExecutorUnavailableError(`${prefix}: the jump host ${jump.host}:${jump.port} cannot open a connection to it: ${error.message}`);
    });
    const client = await connectHop(
      { label: `${prefix} via the jump host ${jump.host}:${jump.port}`, host: host.host, port: host.port, auth: host },
      stream,
      settings,
      deadline,
    );
    return new Connection(client, jumpClient);
  } catch (error) {
    jumpClient.end();
    throw error;
  }
}

async function connectHop(hop: Hop, sock: Duplex | undefined, settings: ConnectSettings, deadline: number): Promise<Client> {
  const fail = (why: string): ExecutorUnavailableError => new ExecutorUnavailableError(`${hop.label}: ${why}`);
  let known;
  try {
    known = await readKnownHosts(settings.knownHostsPath, hop.host, hop.port);
  } catch (error) {
    throw fail((error as Error).message);
  }
  const credentials = await credentialsOf(hop.auth, fail);
  const timeoutMs = Math.max(1, deadline - Date.now());
  const seconds = settings.connectTimeoutMs / 1000;
  if (settings.signal?.aborted) throw new ConnectAborted('aborted');

  return new Promise<Client>((resolve, reject) => {
    const client = new (ssh2().Client)();
    let verdict: HostKeyVerdict | undefined;
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      settings.signal?.removeEventListener('abort', onAbort);
      if (error) {
        client.removeAllListeners('ready');
        client.on('error', () => undefined);
        client.end();
        // end() waits for the server's goodbye, which a silent server never sends.
        setImmediate(() => client.destroy());
        reject(error);
      } else {
        resolve(client);
      }
    };
    const onAbort = (): void => finish(new ConnectAborted('aborted'));
    settings.signal?.addEventListener('abort', onAbort, { once: true });
    // ssh2's readyTimeout covers the handshake; this also covers a jump host's share of the time.
    const timer = setTimeout(() => finish(fail(`no SSH answer within ${seconds} s (connect timeout)`)), timeoutMs);
    client.once('ready', () => finish());
    client.on('error', (error: Error & { level?: string; code?: string }) => finish(fail(describeError(error, verdict, hop, seconds, credentials.methods))));
    client.once('close', () => finish(fail(verdict && !verdict.ok ? verdict.reason : 'the connection closed during the SSH handshake')));
    const algorithms = hostKeyAlgorithms(known.keys.map((key) => key.type));
    const config: ConnectConfig = {
      host: hop.host,
      port: hop.port,
      sock,
      username: hop.auth.user,
      privateKey: credentials.privateKey,
      passphrase: credentials.passphrase,
      agent: hop.auth.agent,
      readyTimeout: timeoutMs,
      // A dead connection (no TCP reset) is noticed within about the connect timeout.
      keepaliveInterval: Math.max(1000, Math.round(settings.connectTimeoutMs / 3)),
      keepaliveCountMax: 3,
      algorithms: algorithms ? { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } : undefined,
      hostVerifier: (key: Buffer) => {
        verdict = verifyHostKey(key, known, hop.auth.fingerprints, settings.acceptUnknownHostKeys, settings.knownHostsPath);
        if (verdict.ok && verdict.how === 'unknown-accepted') {
          settings.onUnknownKeyAccepted(
            `${hop.label}: ACCEPTING AN UNKNOWN HOST KEY ${verdict.type} ${verdict.fingerprint} (acceptUnknownHostKeys is on): the connection is not protected against a man in the middle; pin this fingerprint or add it to ${settings.knownHostsPath}`,
          );
        }
        return verdict.ok;
      },
    };
    try {
      client.connect(config);
    } catch (error) {
      finish(fail((error as Error).message));
    }
  });
}

interface Credentials {
  privateKey?: Buffer;
  passphrase?: string;
  /** For errors: what was tried. */
  methods: string;
}

async function credentialsOf(auth: ResolvedSshLogin, fail: (why: string) => Error): Promise<Credentials> {
  const methods: string[] = [];
  let privateKey: Buffer | undefined;
  let passphrase: string | undefined;
  if (auth.privateKeyPath) {
    try {
      privateKey = await readFile(auth.privateKeyPath);
    } catch (error) {
      throw fail(`cannot read the private key ${auth.privateKeyPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (auth.passphraseEnv) {
      passphrase = process.env[auth.passphraseEnv];
      if (passphrase === undefined) throw fail(`the private key's passphrase variable ${auth.passphraseEnv} is not set in the server's environment`);
    }
    const parsed = ssh2().utils.parseKey(privateKey, passphrase);
    if (parsed instanceof Error) {
      const hint = /passphrase/i.test(parsed.message) && !auth.passphraseEnv ? ' (an encrypted key needs "passphraseEnv")' : '';
      throw fail(`the private key ${auth.privateKeyPath} cannot be used: ${parsed.message}${hint}`);
    }
    methods.push(`the key ${auth.privateKeyPath}`);
  }
  if (auth.agentMissing && !privateKey) throw fail('"agent": true, but SSH_AUTH_SOCK is not set in the server\'s environment');
  if (auth.agent) methods.push(`the agent at ${auth.agent}`);
  return { privateKey, passphrase, methods: methods.join(' and ') || 'nothing' };
}

function describeError(
  error: Error & { level?: string; code?: string },
  verdict: HostKeyVerdict | undefined,
  hop: Hop,
  seconds: number,
  methods: string,
): string {
  if (verdict && !verdict.ok) return verdict.reason;
  if (error.level === 'client-authentication') {
    return `authentication failed: user ${JSON.stringify(hop.auth.user)} was refused with ${methods}`;
  }
  if (error.level === 'client-timeout' || error.code === 'ETIMEDOUT') return `no SSH answer within ${seconds} s (connect timeout)`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return `connection refused (nothing listens on port ${hop.port}: is sshd running?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the name ${hop.host} (${error.code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `unreachable (${error.code})`;
    case 'ECONNRESET':
      return 'the connection was reset during the SSH handshake';
    default:
      return error.message;
  }
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A logged-in connection. Its SFTP session is opened once and shared by the runs it serves (one
 * at a time).
 */
export class Connection {
  closed = false;
  /** Why it closed, when known (a keepalive timeout, a reset…). */
  closeError?: Error;
  private readonly closeListeners = new Set<() => void>();
  private sftpSession?: Promise<SFTPWrapper>;
  private readonly madeDirs = new Set<string>();

  constructor(
    readonly client: Client,
    private readonly jump: Client | undefined,
  ) {
    client.on('error', (error: Error) => {
      this.closeError ??= error;
    });
    client.once('close', () => {
      this.closed = true;
      this.jump?.end();
      for (const listener of [...this.closeListeners]) listener();
      this.closeListeners.clear();
    });
    jump?.on('error', () => undefined);
    jump?.once('close', () => client.destroy());
  }

  /** Calls `listener` once when the connection closes (at once if it has); returns the unsubscriber. */
  onClose(listener: () => void): () => void {
    if (this.closed) {
      queueMicrotask(listener);
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  exec(command: string): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('the connection is closed'));
        return;
      }
      // A synchronous throw (the client not connected) rejects the promise too: the executor runs inside the Promise constructor.
      this.client.exec(command, (error, channel) => (error ? reject(error) : resolve(channel)));
    });
  }

  /** Runs a command and collects its output (at most 1 MiB of each stream). */
  async run(command: string, timeoutMs: number, stdin?: string): Promise<CommandResult> {
    const channel = await this.exec(command);
    channel.on('error', () => undefined);
    return new Promise<CommandResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outSize = 0;
      let errSize = 0;
      const limit = 1024 * 1024;
      channel.on('data', (chunk: Buffer) => {
        if (outSize < limit) out.push(chunk);
        outSize += chunk.length;
      });
      channel.stderr.on('data', (chunk: Buffer) => {
        if (errSize < limit) err.push(chunk);
        errSize += chunk.length;
      });
      const unsubscribe = this.onClose(() => {
        clearTimeout(timer);
        reject(new Error('the connection closed'));
      });
      const timer = setTimeout(() => {
        unsubscribe();
        channel.close();
        reject(new Error(`no answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      channel.once('close', (code: number | null) => {
        clearTimeout(timer);
        unsubscribe();
        resolve({ code: code ?? null, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
      });
      if (stdin !== undefined) channel.end(stdin);
      else channel.end();
    });
  }

  sftp(): Promise<SFTPWrapper> {
    if (!this.sftpSession) {
      const session = new Promise<SFTPWrapper>((resolve, reject) => {
        this.client.sftp((error, sftp) => {
          if (error) {
            reject(error);
            return;
          }
          sftp.on('error', () => undefined); // a failed request is reported to its callback
          sftp.once('close', () => {
            if (this.sftpSession === session) this.sftpSession = undefined;
          });
          resolve(sftp);
        });
      });
      session.catch(() => {
        if (this.sftpSession === session) this.sftpSession = undefined;
      });
      this.sftpSession = session;
    }
    return this.sftpSession;
  }

  /** `mkdir -p` over SFTP (each level once per connection; "exists" is not an error). */
  async makeDirs(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    const sftp = await this.sftp();
    const parts = dir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (prefix === '' || prefix === '.' || prefix === '~') continue;
      await new Promise<void>((resolve) => sftp.mkdir(prefix, { mode: 0o700 }, () => resolve()));
    }
    await new Promise<void>((resolve, reject) =>
      sftp.stat(dir, (error, stats) => (error ? reject(error) : stats.isDirectory() ? resolve() : reject(new Error(`${dir} is not a directory`)))),
    );
    this.madeDirs.add(dir);
  }

  end(): void {
    this.closed = true;
    this.client.end();
    // A peer that never answers the goodbye must not keep the socket.
    setTimeout(() => this.client.destroy(), 2_000).unref();
  }
}

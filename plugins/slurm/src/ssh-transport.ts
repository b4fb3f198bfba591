import * as path from 'node:path';
import { ExecutorUnavailableError, type PluginLogger } from '@tensorify/executor-sdk';
import { connect, shellQuote, type Connection, type ResolvedSshHostKeys, type SshTarget } from '@tensorify/executor-sdk/ssh';
import type { SFTPWrapper } from 'ssh2';
import { COMMAND_TIMEOUT_MS, type CommandResult, type SlurmTransport } from './transport';

/**
 * How many commands run at once on the connection. OpenSSH's sshd allows 10 sessions per
 * connection (MaxSessions); the SFTP session is one of them, and a few are left for headroom.
 */
const MAX_COMMANDS = 8;
/** SFTP's status code for a missing file (SSH_FX_NO_SUCH_FILE). */
const NO_SUCH_FILE = 2;
/**
 * Commands run once more over a new connection when the connection is lost while they run: they
 * only read (scontrol, sinfo) or doing them twice is harmless (scancel, rm -rf). Never sbatch: the
 * job may have been submitted before the connection went, and a second one would run beside it.
 */
const REPEATABLE = new Set(['scontrol', 'sinfo', 'scancel', 'rm']);

export interface SshTransportOptions {
  /** The login node; its `label` names it in errors (`slurm executor: login node login1 (10.0.0.5:22)`). */
  target: SshTarget;
  hostKeys: ResolvedSshHostKeys;
  /** Directory of Slurm's commands on the login node when they are not on its PATH. */
  binDir?: string;
  logger: PluginLogger;
}

/**
 * Slurm's commands and the shared filesystem on a login node reached over SSH: one connection
 * (the SDK's, host keys checked), opened at first use, shared by every run, and opened again at
 * the next use after it was lost. Commands run through the login shell, each word single-quoted;
 * files go over SFTP (the login node must offer the sftp subsystem, as the `ssh` executor's hosts
 * must), a recursive remove is `rm -rf` (SFTP has none).
 */
export class SshTransport implements SlurmTransport {
  readonly description: string;
  private pending?: Promise<Connection>;
  private closed = false;
  private running = 0;
  /** Commands waiting for one of the MAX_COMMANDS places. A counter and a queue: p-limit, the usual package, is ESM-only since v4. */
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly options: SshTransportOptions) {
    const { target, binDir } = options;
    this.description = `login node ${target.user}@${target.host}:${target.port} over SSH${target.jump ? ` (via ${target.jump.host}:${target.jump.port})` : ''}${binDir ? ` (Slurm commands in ${binDir})` : ''}`;
  }

  private get label(): string {
    return this.options.target.label;
  }

  async run(command: string, args: readonly string[]): Promise<CommandResult> {
    const { binDir } = this.options;
    const line = `${binDir ? `PATH=${shellQuote(binDir)}:"$PATH" ` : ''}exec ${[command, ...args].map(shellQuote).join(' ')}`;
    const result = await this.onConnection(REPEATABLE.has(command), async (connection) => {
      await this.place();
      try {
        const answer = await connection.run(line, COMMAND_TIMEOUT_MS);
        // No exit status because the connection went (not because the command died by a signal).
        if (answer.code === null && connection.closed) throw new Error('the connection closed');
        return answer;
      } catch (error) {
        const why = (error as Error).message;
        throw new ExecutorUnavailableError(`${this.label}: ${command}: ${why}${why.startsWith('no answer') ? ' (is slurmctld up?)' : ''}`);
      } finally {
        this.free();
      }
    });
    // The login shell's "not found": Slurm's commands are not on the login node's PATH.
    if (result.code === 127) {
      const said = result.stderr.trim().split('\n').pop() ?? '';
      throw new ExecutorUnavailableError(
        `${this.label}: cannot run ${command} on the login node: ${said}${binDir ? '' : ' (is Slurm installed there? set binDir)'}`,
      );
    }
    // No exit status: the command died by a signal.
    return { code: result.code ?? 128, stdout: result.stdout, stderr: result.stderr };
  }

  async mkdir(dir: string): Promise<void> {
    await this.files(`create the directory ${dir}`, async (sftp, connection) => {
      // The parent (workDir) once per connection; the run directory itself each time, with LocalTransport's mode.
      await connection.makeDirs(path.posix.dirname(dir));
      await new Promise<void>((resolve, reject) =>
        sftp.mkdir(dir, { mode: 0o755 }, (error) =>
          // Made already (by the first try, when the connection was lost after it): fine.
          error ? sftp.stat(dir, (missing, stats) => (!missing && stats.isDirectory() ? resolve() : reject(error))) : resolve(),
        ),
      );
    });
  }

  async writeFile(file: string, content: string, mode: number): Promise<void> {
    await this.files(
      `write ${file}`,
      (sftp) => new Promise<void>((resolve, reject) => sftp.writeFile(file, content, { mode }, (error) => (error ? reject(error) : resolve()))),
    );
  }

  async readFrom(file: string, offset: number, max: number): Promise<Buffer> {
    try {
      return await this.files(`read ${file}`, async (sftp) => {
        const handle = await new Promise<Buffer | undefined>((resolve, reject) =>
          sftp.open(file, 'r', (error, opened) => (error ? (isMissing(error) ? resolve(undefined) : reject(error)) : resolve(opened))),
        );
        if (!handle) return Buffer.alloc(0);
        try {
          const buffer = Buffer.alloc(max);
          // ssh2 splits a long read into the server's largest reads, and stops early at the end of the file.
          const bytesRead = await new Promise<number>((resolve, reject) =>
            sftp.read(handle, buffer, 0, max, offset, (error, count) => (error ? reject(error) : resolve(count))),
          );
          return buffer.subarray(0, bytesRead);
        } finally {
          await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
        }
      });
    } catch (error) {
      // The login node out of reach (even after connecting again): nothing new yet. The caller reads
      // from the same offset at its next poll, so no output is lost; its scontrol says why meanwhile.
      if (error instanceof ExecutorUnavailableError) return Buffer.alloc(0);
      throw error;
    }
  }

  async readText(file: string): Promise<string | undefined> {
    return this.files(
      `read ${file}`,
      (sftp) =>
        new Promise<string | undefined>((resolve, reject) =>
          sftp.readFile(file, (error, bytes) => (error ? (isMissing(error) ? resolve(undefined) : reject(error)) : resolve(bytes.toString('utf8')))),
        ),
    );
  }

  async remove(target: string): Promise<void> {
    const result = await this.run('rm', ['-rf', '--', target]);
    if (result.code !== 0) throw new Error(`rm -rf ${target} on the login node: ${result.stderr.trim() || `exit code ${result.code}`}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.pending;
    this.pending = undefined;
    const connection = await pending?.catch(() => undefined);
    connection?.end();
  }

  /** The connection, opened now when there is none or it was lost (concurrent callers share one attempt). */
  private async connection(): Promise<Connection> {
    for (;;) {
      if (this.closed) throw new ExecutorUnavailableError(`${this.label}: the executor is closed`);
      const pending = (this.pending ??= this.open());
      let connection: Connection;
      try {
        connection = await pending;
      } catch (error) {
        if (this.pending === pending) this.pending = undefined;
        throw error;
      }
      if (!connection.closed) return connection;
      if (this.pending === pending) this.pending = undefined;
      this.options.logger.warn(`${this.label}: the connection was lost${connection.closeError ? ` (${connection.closeError.message})` : ''}; connecting again`);
    }
  }

  private open(): Promise<Connection> {
    const { hostKeys, logger, target } = this.options;
    return connect(target, {
      knownHostsPath: hostKeys.knownHostsPath,
      acceptUnknownHostKeys: hostKeys.acceptUnknownHostKeys,
      connectTimeoutMs: hostKeys.connectTimeoutSeconds * 1000,
      onUnknownKeyAccepted: (message) => logger.warn(message),
    });
  }

  /** Runs `operation` on the connection; when the connection was lost meanwhile and `repeatable`, once more on a new one. */
  private async onConnection<T>(repeatable: boolean, operation: (connection: Connection) => Promise<T>): Promise<T> {
    const connection = await this.connection();
    try {
      return await operation(connection);
    } catch (error) {
      if (!repeatable || !connection.closed || this.closed) throw error;
      return operation(await this.connection());
    }
  }

  /**
   * Runs a file operation on the SFTP session (again on a new connection when the connection was
   * lost: each one can be repeated). Its error names the operation and the login node; it is
   * ExecutorUnavailableError when the connection is gone, cannot be made or offers no SFTP.
   */
  private files<T>(what: string, operation: (sftp: SFTPWrapper, connection: Connection) => Promise<T>): Promise<T> {
    return this.onConnection(true, async (connection) => {
      // A request on an SFTP session whose connection is gone may never be answered (ssh2 fails only
      // the requests pending when the channel closed): the operation loses the race to the close.
      let unsubscribe = (): void => undefined;
      const lost = new Promise<never>((_resolve, reject) => {
        unsubscribe = connection.onClose(() => reject(new Error('the connection closed')));
      });
      try {
        let sftp: SFTPWrapper;
        try {
          sftp = await Promise.race([connection.sftp(), lost]);
        } catch (error) {
          const why = (error as Error).message;
          throw new ExecutorUnavailableError(
            `${this.label}: ${connection.closed ? why : `no SFTP session (the login node must offer the sftp subsystem): ${why}`}`,
          );
        }
        try {
          return await Promise.race([operation(sftp, connection), lost]);
        } catch (error) {
          const message = `${this.label}: cannot ${what}: ${(error as Error).message}`;
          throw connection.closed ? new ExecutorUnavailableError(message) : new Error(message);
        }
      } finally {
        unsubscribe();
        lost.catch(() => undefined);
      }
    });
  }

  private place(): Promise<void> {
    if (this.running < MAX_COMMANDS) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private free(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

/** Whether an SFTP error is SSH_FX_NO_SUCH_FILE. */
function isMissing(error: Error): boolean {
  return (error as Error & { code?: unknown }).code === NO_SUCH_FILE;
}

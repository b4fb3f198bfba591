import { execFile } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { ExecutorUnavailableError } from '@tensorify/executor-sdk';

/** What a Slurm command printed and how it exited. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs Slurm's commands on a login node (this machine, or one reached over SSH). */
export interface CommandRunner {
  /** One line for operators: where the commands run. */
  readonly description: string;
  /** Runs a command; rejects with ExecutorUnavailableError when it cannot be started at all. */
  run(command: string, args: readonly string[]): Promise<CommandResult>;
}

/** The cluster's shared filesystem, where run directories and virtualenvs live (the same paths on every node). */
export interface SharedFiles {
  mkdir(dir: string): Promise<void>;
  writeFile(file: string, content: string, mode: number): Promise<void>;
  /** Up to `max` bytes of `file` from `offset`; empty when the file is not there (yet). */
  readFrom(file: string, offset: number, max: number): Promise<Buffer>;
  /** The whole file as text, or undefined when it is not there. */
  readText(file: string): Promise<string | undefined>;
  remove(path: string): Promise<void>;
}

/**
 * How the executor reaches the cluster: a {@link CommandRunner} for Slurm's commands (used by
 * `CommandSlurmClient`) and the {@link SharedFiles}. {@link LocalTransport} is both on the login
 * node the server runs on; `SshTransport` (ssh-transport.ts) is both over one SSH connection to a
 * login node.
 */
export interface SlurmTransport extends CommandRunner, SharedFiles {
  close?(): Promise<void>;
}

/** Slurm's commands are short; one that hangs this long means the controller does not answer. */
export const COMMAND_TIMEOUT_MS = 60_000;

/**
 * The server runs on a login node of the cluster: Slurm's commands run as child processes of the
 * server (with `binDir` first on PATH when given), and the shared filesystem is the server's own.
 */
export class LocalTransport implements SlurmTransport {
  readonly description: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly binDir: string | undefined) {
    this.description = `login node: this machine${binDir ? ` (Slurm commands in ${binDir})` : ''}`;
    // Slurm's commands need little of the server's environment: PATH to find them, SLURM_CONF when set.
    const base = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
    this.env = { PATH: binDir ? `${binDir}:${base}` : base, LANG: 'C.UTF-8' };
    if (process.env.SLURM_CONF) this.env.SLURM_CONF = process.env.SLURM_CONF;
    if (process.env.HOME) this.env.HOME = process.env.HOME;
  }

  run(command: string, args: readonly string[]): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      execFile(command, args, { env: this.env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error && typeof error.code === 'string') {
          reject(
            new ExecutorUnavailableError(
              `slurm executor: cannot run ${command} on the login node: ${error.code}${this.binDir ? '' : ' (is Slurm installed? set binDir)'}`,
            ),
          );
          return;
        }
        if (error?.killed) {
          reject(new ExecutorUnavailableError(`slurm executor: ${command} did not answer in ${COMMAND_TIMEOUT_MS / 1000} s (is slurmctld up?)`));
          return;
        }
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  async mkdir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o755 });
  }

  async writeFile(file: string, content: string, mode: number): Promise<void> {
    await writeFile(file, content, { mode });
  }

  async readFrom(file: string, offset: number, max: number): Promise<Buffer> {
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw error;
    }
    try {
      const buffer = Buffer.alloc(max);
      const { bytesRead } = await handle.read(buffer, 0, max, offset);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async readText(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
  }
}

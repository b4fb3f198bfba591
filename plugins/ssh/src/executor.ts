import { randomBytes } from 'node:crypto';
import {
  PROGRAM_FILES,
  type ExecutionContext,
  type ExecutionJob,
  type ExecutionResult,
  type Executor,
  type ExecutorCapabilities,
  type ExecutorHost,
  dropUnusableVariables,
  ExecutorUnavailableError,
  INPUTS_FILE,
  LineSplitter,
  type LogStream,
  normaliseRequirements,
  programInputs,
  programVariables,
} from '@tensorify/executor-sdk';
import { connect, type Connection } from '@tensorify/executor-sdk/ssh';
import { describeHost, withoutHostPrefix, type ResolvedConfig } from './config';
import { Hosts, keepSpare, takeSpare, type HostState, type Lease } from './hosts';
import { COMMAND, FRAME } from './python-programs';
import { checkCommand, Supervisor, type RunEnd, type RunSpec } from './supervisor';
import { hostVenvDir, HostVenvPruner } from './venv-pruning';

/** How many of pip's last lines the error of a failed install quotes. */
const ERROR_TAIL_LINES = 15;
/** After TERM, how long the supervisor may take beyond the grace period (its SIGKILL wait, pipes, cleanup) before its stdin is closed. */
const STOP_MARGIN_MS = 10_000;
/** How long the check confirming a stopped run may take once connected. */
const CHECK_TIMEOUT_MS = 15_000;

class AbortedBeforeStart extends Error {}

/** The `ssh` executor: `python main.py` on one of the configured hosts, over SSH. */
export class SshExecutor implements Executor {
  private readonly hosts: Hosts;
  /** Prunes the hosts' venvs (see the `cache` setting). */
  readonly venvPruner: HostVenvPruner;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly host: ExecutorHost,
  ) {
    this.hosts = new Hosts(config, host.logger, (message) => host.logger.warn(message));
    this.venvPruner = new HostVenvPruner({ hosts: this.hosts.hosts, limits: config.cache, logger: host.logger });
    this.venvPruner.start();
  }

  capabilities(): Promise<ExecutorCapabilities> {
    return this.hosts.capabilities();
  }

  async close(): Promise<void> {
    await this.venvPruner.close();
    this.hosts.close();
  }

  async run(job: ExecutionJob, context: ExecutionContext): Promise<ExecutionResult> {
    const { signal } = context;
    const system = (line: string): void => context.log('system', line);
    if (signal.aborted) return { exitCode: null };
    const lease = await this.hosts.lease(job.gpu, signal, system);
    if (!lease) {
      system('stopped while waiting for a host: the program did not start');
      return { exitCode: null };
    }
    try {
      return (await this.runOn(lease, job, context)).result;
    } finally {
      // The connection serves the next run unless it is gone (a failed run leaves it usable).
      lease.release(!lease.connection.closed);
    }
  }

  private async runOn(lease: Lease, job: ExecutionJob, context: ExecutionContext): Promise<{ result: ExecutionResult }> {
    const { host, connection } = lease;
    const hostConfig = host.config;
    const { signal } = context;
    const system = (line: string): void => context.log('system', line);
    const where = describeHost(hostConfig);
    const runDir = `${hostConfig.workDir}/runs/${safeName(job.executionId)}-${randomBytes(4).toString('hex')}`;

    // The supervisor starts (or was started ahead, or served the connection's last run) while the files upload.
    const spare = takeSpare(connection);
    const starting = (async () => {
      const ready = spare && (await spare.catch(() => undefined));
      if (
        ready &&
        !ready.isClosed &&
        (await ready.ready.then(
          () => true,
          () => false,
        )) &&
        !ready.isClosed
      )
        return ready;
      ready?.close();
      const started = await Supervisor.start(connection, hostConfig.python);
      await started.ready;
      return started;
    })();
    starting.catch(() => undefined);
    let supervisor: Supervisor | undefined;
    let spec: RunSpec | undefined;
    try {
      spec = await this.upload(connection, host, runDir, job, context);
      if (signal.aborted) throw new AbortedBeforeStart();
      try {
        supervisor = await starting;
      } catch (error) {
        if (connection.closed) throw this.dropped(host, 'before the program started');
        throw new ExecutorUnavailableError(
          `ssh executor: ${where}: the Python interpreter ${hostConfig.python} cannot run the supervisor: ${(error as Error).message}`,
        );
      }
      if (signal.aborted) throw new AbortedBeforeStart();
      const end = await this.supervise(supervisor, spec, host, connection, context);
      // A supervisor whose run ended on its own serves the connection's next run.
      if (end.keepSupervisor && !supervisor.isClosed) keepSpare(connection, supervisor);
      else supervisor.close();
      return { result: end.result };
    } catch (error) {
      if (error instanceof AbortedBeforeStart) {
        system('stopped before the program started');
        if (supervisor) keepSpare(connection, supervisor); // it never got the run: it can take the next
        if (spec) await this.removeUploaded(connection, host, spec, system);
        return { result: { exitCode: null } };
      }
      // The run never reached a supervisor: its directory is this side's to remove.
      if (!supervisor && spec) await this.removeUploaded(connection, host, spec, system);
      throw error;
    } finally {
      if (!supervisor)
        starting.then(
          (started) => started.close(),
          () => undefined,
        );
    }
  }

  /** Uploads the program by SFTP into a fresh run directory; returns what the supervisor is told. */
  private async upload(connection: Connection, host: HostState, runDir: string, job: ExecutionJob, context: ExecutionContext): Promise<RunSpec> {
    const hostConfig = host.config;
    const system = (line: string): void => context.log('system', line);
    const files: [string, string][] = PROGRAM_FILES.map((name) => [name, job.files[name] ?? '']);
    const inputs = programInputs(job);
    if (inputs.inFile) {
      files.push([INPUTS_FILE, inputs.json]);
      system(inputs.notice);
    }
    // The supervisor puts PATH and HOME first, and the configured env, passEnv, the job's env and TENSORIFY_OUTPUT after these.
    const env = programVariables(job, inputs);
    const configEnv = { ...hostConfig.env };
    const jobEnv = { ...(job.env ?? {}) };
    const dropped = dropUnusableVariables(configEnv, jobEnv);
    if (dropped) system(dropped);

    try {
      await connection.makeDirs(`${hostConfig.workDir}/runs`);
      const sftp = await connection.sftp();
      await new Promise<void>((resolve, reject) => sftp.mkdir(runDir, { mode: 0o700 }, (error) => (error ? reject(error) : resolve())));
      await Promise.all(
        files.map(
          ([name, text]) =>
            new Promise<void>((resolve, reject) => sftp.writeFile(`${runDir}/${name}`, text, { mode: 0o600 }, (error) => (error ? reject(error) : resolve()))),
        ),
      );
    } catch (error) {
      if (connection.closed) throw this.dropped(host, 'while the program was uploaded');
      throw new Error(`ssh executor: ${describeHost(hostConfig)}: cannot upload the program into ${runDir} by SFTP: ${(error as Error).message}`);
    }
    return {
      dir: runDir,
      env,
      configEnv,
      passEnv: hostConfig.passEnv,
      jobEnv,
      args: inputs.args,
      requirements: normaliseRequirements(job.files['requirements.txt'] ?? ''),
      venvDir: hostVenvDir(host),
      pipArgs: this.config.pipArgs,
      graceSeconds: this.config.killGraceSeconds,
      keepWorkDir: this.config.keepWorkDir,
    };
  }

  /** Runs the program through its supervisor, to its end frame (or the loss of the connection). */
  private async supervise(
    supervisor: Supervisor,
    spec: RunSpec,
    host: HostState,
    connection: Connection,
    context: ExecutionContext,
  ): Promise<{ result: ExecutionResult; keepSupervisor: boolean }> {
    const { signal } = context;
    const hostConfig = host.config;
    const system = (line: string): void => context.log('system', line);
    const maxLineBytes = this.config.logLineMaxBytes;
    const splitter = (stream: LogStream): LineSplitter => new LineSplitter(maxLineBytes, (line) => context.log(stream, line));
    const stdout = splitter('stdout');
    const stderr = splitter('stderr');
    const pipTail: string[] = [];
    const pip = new LineSplitter(maxLineBytes, (line) => {
      context.log('system', line);
      pipTail.push(line);
      if (pipTail.length > ERROR_TAIL_LINES) pipTail.shift();
    });
    const pgids: number[] = [];
    let programPid: number | undefined;
    let externalId: string | undefined;
    let output: Buffer | undefined;
    let end: RunEnd | undefined;
    let ended: () => void = () => undefined;

    supervisor.listen((kind, payload) => {
      switch (kind) {
        case FRAME.stdout:
          stdout.push(payload);
          break;
        case FRAME.stderr:
          stderr.push(payload);
          break;
        case FRAME.pip:
          pip.push(payload);
          break;
        case FRAME.system:
          system(payload.toString('utf8'));
          break;
        case FRAME.group: {
          const group = JSON.parse(payload.toString('utf8')) as { what: string; pid: number; pgid: number };
          pgids.push(group.pgid);
          if (group.what === 'program') {
            programPid = group.pid;
            externalId = `${hostConfig.name}:${group.pid}`;
            context.setExternalId(externalId);
          }
          break;
        }
        case FRAME.output:
          output = Buffer.from(payload);
          break;
        case FRAME.end:
          end = JSON.parse(payload.toString('utf8')) as RunEnd;
          ended();
          break;
        default:
          break;
      }
    });

    let stopAsked = false;
    let stopTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      stopAsked = true;
      supervisor.send(`${COMMAND.term} ${spec.dir}`);
      stopTimer = setTimeout(
        () => {
          system(`the supervisor on ${hostConfig.name} did not finish stopping the program in time: closing its input (SIGKILL to the group)`);
          supervisor.endInput();
          stopTimer = setTimeout(() => supervisor.close(), 5_000);
        },
        this.config.killGraceSeconds * 1000 + STOP_MARGIN_MS,
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let unsubscribe: () => void = () => undefined;
    let how = await new Promise<'end' | 'closed' | 'dropped'>((resolve) => {
      ended = () => resolve('end');
      unsubscribe = connection.onClose(() => resolve('dropped'));
      supervisor.closed.then(
        () => resolve('closed'),
        () => resolve('closed'),
      );
      supervisor.send(`${COMMAND.run} ${JSON.stringify(spec)}`);
      if (signal.aborted) onAbort();
    });
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
    clearTimeout(stopTimer);
    stdout.end();
    stderr.end();
    pip.end();
    if (how === 'closed') {
      // A channel closes before its connection reports it is gone: give it a moment to.
      await new Promise((done) => setTimeout(done, 100));
      if (connection.closed) how = 'dropped';
    }
    const dropped = how === 'dropped' && !end;

    if (dropped) {
      const confirmed = await this.confirmAfterDrop(host, spec.dir, pgids);
      throw this.dropped(host, `while the program ran${programPid ? ` (pid ${programPid})` : ''}; ${confirmed}`);
    }
    if (!end) {
      const said = supervisor.stderr.trim().split('\n').slice(-8).join('\n');
      const check = await this.check(connection, host, spec.dir, pgids).catch((error: Error) => `not confirmed: ${error.message}`);
      if (stopAsked) {
        system(`stopped on ${hostConfig.name}: ${check}`);
        return { result: { exitCode: null, externalId }, keepSupervisor: false };
      }
      throw new Error(`ssh executor: the supervisor on ${describeHost(hostConfig)} ended without a result${said ? `:\n${said}` : ''}\n(${check})`);
    }
    if (end.failure) {
      const message = `ssh executor: ${describeHost(hostConfig)}: ${end.failure.message}`;
      if (end.failure.kind === 'unavailable') throw new ExecutorUnavailableError(message);
      if (end.failure.kind === 'build') throw new Error(`${message}:\n${pipTail.join('\n')}`);
      throw new Error(message);
    }
    if (stopAsked || end.stopped) {
      if (!end.started) system('stopped while preparing the virtualenv: the program did not start');
      // Confirm from outside the supervisor that nothing of the run is left.
      const check = await this.check(connection, host, spec.dir, pgids).catch((error: Error) => `not confirmed: ${error.message}`);
      system(`stopped on ${hostConfig.name}: ${check}`);
      return { result: { exitCode: null, externalId }, keepSupervisor: false };
    }
    if (!end.removed && !spec.keepWorkDir) system(`the run directory ${spec.dir} on ${hostConfig.name} could not be removed`);
    if (spec.keepWorkDir) system(`run directory kept on ${hostConfig.name}: ${spec.dir}`);
    return { result: { exitCode: end.signal ? null : end.exitCode, output: parseOutput(output, system), externalId }, keepSupervisor: true };
  }

  /**
   * Checks over a fresh exec that the run's process groups are gone (SIGKILLing what is left)
   * and removes its directory; says what it found.
   */
  private async check(connection: Connection, host: HostState, dir: string, pgids: number[]): Promise<string> {
    const request = { pgids, dir, remove: !this.config.keepWorkDir, wait: 5 };
    const result = await connection.run(checkCommand(host.config.python, request), CHECK_TIMEOUT_MS);
    let answer: { alive: number[]; killed: number[]; removed: boolean | null };
    try {
      answer = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as typeof answer;
    } catch {
      throw new Error(`the check on ${host.name} answered ${JSON.stringify((result.stdout + result.stderr).slice(-300))}`);
    }
    const groups =
      pgids.length === 0
        ? 'no process had started'
        : answer.alive.length === 0
          ? `process group(s) ${pgids.join(', ')} gone${answer.killed.length > 0 ? ` (SIGKILLed ${answer.killed.join(', ')})` : ''}`
          : `process group(s) ${answer.alive.join(', ')} STILL ALIVE after SIGKILL`;
    if (answer.alive.length > 0)
      this.host.logger.error(`ssh executor: processes of a stopped run are still alive on ${host.name}`, { pgids: answer.alive, dir });
    const removed =
      answer.removed === null ? `run directory kept: ${dir}` : answer.removed ? 'run directory removed' : `run directory ${dir} could NOT be removed`;
    return `${groups}, ${removed}`;
  }

  /** After a dropped connection: reconnect (within the connect timeout) to confirm the run is gone. */
  private async confirmAfterDrop(host: HostState, dir: string, pgids: number[]): Promise<string> {
    let connection: Connection | undefined;
    try {
      connection = await connect(host.config, {
        knownHostsPath: this.config.knownHostsPath,
        acceptUnknownHostKeys: this.config.acceptUnknownHostKeys,
        connectTimeoutMs: this.config.connectTimeoutSeconds * 1000,
        onUnknownKeyAccepted: (message) => this.host.logger.warn(message),
      });
      return `checked over a new connection: ${await this.check(connection, host, dir, pgids)}`;
    } catch (error) {
      const message = withoutHostPrefix((error as Error).message);
      this.host.logger.warn(`ssh executor: cannot confirm that a run is gone on ${host.name} after its connection dropped`, { dir, pgids, error: message });
      return `not confirmed (cannot reconnect: ${message}); the host's supervisor kills the run when its connection closes`;
    } finally {
      connection?.end();
    }
  }

  /** Removes a run directory that no supervisor took: by SFTP, so it needs neither the host's Python nor its shell. */
  private async removeUploaded(connection: Connection, host: HostState, spec: RunSpec, system: (line: string) => void): Promise<void> {
    if (this.config.keepWorkDir || connection.closed) return;
    try {
      const sftp = await connection.sftp();
      const names = [...PROGRAM_FILES, ...(spec.args.includes(INPUTS_FILE) ? [INPUTS_FILE] : [])];
      await Promise.all(names.map((name) => new Promise<void>((resolve) => sftp.unlink(`${spec.dir}/${name}`, () => resolve()))));
      await new Promise<void>((resolve, reject) => sftp.rmdir(spec.dir, (error) => (error ? reject(error) : resolve())));
    } catch (error) {
      system(`cannot remove the run directory ${spec.dir} on ${host.name}: ${(error as Error).message}`);
    }
  }

  private dropped(host: HostState, when: string): Error {
    return new Error(`ssh executor: the connection to ${describeHost(host.config)} dropped ${when}`);
  }
}

/** The program's output: the JSON of its TENSORIFY_OUTPUT file; undefined when it wrote none or not JSON (said in the log). */
function parseOutput(bytes: Buffer | undefined, system: (line: string) => void): unknown {
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    system(`the output file (TENSORIFY_OUTPUT) is not valid JSON, so the run has no output: ${(error as Error).message}`);
    return undefined;
  }
}

/** The execution id as a safe file name part. */
function safeName(id: string): string {
  return (id.replace(/[^A-Za-z0-9_-]/g, '_') || 'run').slice(0, 64);
}

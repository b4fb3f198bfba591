import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type Docker from 'dockerode';
import {
  AbortedError,
  PROGRAM_FILES,
  type ExecutionContext,
  type ExecutionJob,
  type ExecutionResult,
  type Executor,
  type ExecutorCapabilities,
  type ExecutorHost,
  dropUnusableVariables,
  ExecutorUnavailableError,
  type GpuInfo,
  INPUTS_FILE,
  normaliseRequirements,
  programInputs,
} from '@tensorify/executor-sdk';
import { firstFile, packArchive, readAll, TooLargeError, type ArchiveEntry } from './archive';
import { formatSize, type ResolvedConfig } from './config';
import { CALL_TIMEOUT_MS, removeContainer, runContainer } from './containers';
import {
  callWithSignal,
  describeEndpoint,
  dockerClient,
  engineAbsentAndUnconfigured,
  engineMessage,
  messageOf,
  statusOf,
  unreachable,
  withTimeout,
} from './engine';
import { envList, programEnvironment } from './environment';
import { BaseImages, VENV_DIR, VenvImages } from './images';
import { VenvImagePruner } from './image-pruning';
import { LocalFiles } from './requirements';

/** The program's work dir in its container; the files are copied there before it starts. */
export const WORK_DIR = '/tensorify/run';
/** The program's output file, in its work dir. */
const OUTPUT_FILE = '.tensorify-output.json';
/** The largest output file read back. */
const OUTPUT_MAX_BYTES = 64 * 1024 * 1024;
/** How long a run waits for the engine's first answer before saying it is unreachable. */
const PING_TIMEOUT_MS = 5_000;
/** capabilities(): how long its engine calls may take, and how long an answer is reused. */
const CAPABILITIES_TIMEOUT_MS = 1_800;
const CAPABILITIES_CACHE_MS = 2_000;
/** Crash recovery: how long listing and removing the leftover containers may take in all. */
const RECOVERY_TIMEOUT_MS = 60_000;
const REMOVE_ATTEMPTS = 3;

/**
 * How long after create() the leftover containers are looked for and the derived images first
 * pruned: both are the first uses of the engine client, whose library loads on first use (see
 * dockerClient), and a server's boot should not wait for it.
 */
const BACKGROUND_START_MS = 2_000;

/** The instances of this executor alive in this process: their containers are never leftovers. */
const liveInstances = new Set<string>();

type Role = 'run' | 'build';

/** The `docker` executor: each run in a fresh container of the configured image, through the Docker Engine API. */
export class DockerExecutor implements Executor {
  private readonly docker: Docker;
  private readonly instance = randomBytes(8).toString('hex');
  private endpointName?: Promise<string>;
  private readonly baseImages: BaseImages;
  private readonly venvImages: VenvImages;
  /** Prunes the derived images (see the `cache` setting). */
  readonly imagePruner: VenvImagePruner;
  private cachedCapabilities?: { at: number; promise: Promise<ExecutorCapabilities> };
  private recovery?: Promise<number>;
  /** Starts the crash recovery {@link BACKGROUND_START_MS} after the constructor, if nothing asked for it before. */
  private readonly recoveryTimer: NodeJS.Timeout;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly host: ExecutorHost,
  ) {
    this.docker = dockerClient(config);
    liveInstances.add(this.instance);
    this.baseImages = new BaseImages(this.docker, config.pullPolicy);
    const useDir = path.join(host.dataDir, 'venv-images');
    this.venvImages = new VenvImages({
      docker: this.docker,
      config,
      findLinks: config.pipFindLinksDir === undefined ? undefined : new LocalFiles(config.pipFindLinksDir),
      labels: (role, executionId) => this.labels(role, executionId),
      useDir,
      onBuilt: () => void this.imagePruner.request(),
    });
    this.imagePruner = new VenvImagePruner({
      docker: this.docker,
      images: this.venvImages,
      limits: config.cache,
      logger: host.logger,
      useDir,
      firstDelayMs: BACKGROUND_START_MS,
    });
    this.imagePruner.start();
    this.recoveryTimer = setTimeout(() => void this.recovered, BACKGROUND_START_MS).unref();
  }

  /**
   * Crash recovery, never awaited by the constructor (create must stay quick): started
   * {@link BACKGROUND_START_MS} after it, or at once by the first to await it (each run does, so
   * that no run starts before it); resolves with the number of leftover containers removed (0 when
   * the engine cannot be reached).
   */
  get recovered(): Promise<number> {
    clearTimeout(this.recoveryTimer);
    this.recovery ??= this.removeLeftovers().catch(async (error: unknown) => {
      const details = { endpoint: await this.endpoint(), error: messageOf(error) };
      if (engineAbsentAndUnconfigured(this.config, process.env, error)) {
        this.host.logger.debug('docker executor: no Docker engine at the default socket and none configured: no leftover containers to look for', details);
      } else {
        this.host.logger.warn('docker executor: cannot look for containers left by a previous server process', details);
      }
      return 0;
    });
    return this.recovery;
  }

  async capabilities(): Promise<ExecutorCapabilities> {
    const now = Date.now();
    if (!this.cachedCapabilities || now - this.cachedCapabilities.at >= CAPABILITIES_CACHE_MS) {
      this.cachedCapabilities = { at: now, promise: this.probe() };
    }
    return this.cachedCapabilities.promise;
  }

  async close(): Promise<void> {
    // Runs have all settled; nothing is started or kept open between calls (each engine call has its own connection).
    liveInstances.delete(this.instance);
    clearTimeout(this.recoveryTimer);
    this.cachedCapabilities = undefined;
    await this.imagePruner.close();
  }

  async run(job: ExecutionJob, context: ExecutionContext): Promise<ExecutionResult> {
    if (context.signal.aborted) return { exitCode: null };
    await this.recovered;
    const endpoint = await this.endpoint();
    try {
      await withTimeout(PING_TIMEOUT_MS, 'ping', (signal) => callWithSignal(this.docker, 'ping', signal));
    } catch (error) {
      throw new ExecutorUnavailableError(`docker executor: cannot reach the Docker engine at ${endpoint}: ${engineMessage(error)}`);
    }
    try {
      return await this.runJob(job, context);
    } catch (error) {
      throw unreachable(error, endpoint);
    } finally {
      this.venvImages.release(job.executionId);
    }
  }

  private async runJob(job: ExecutionJob, context: ExecutionContext): Promise<ExecutionResult> {
    const { signal } = context;
    const { config } = this;
    const system = (line: string): void => context.log('system', line);

    let imageId: string;
    let python = config.python;
    let binDir: string | undefined;
    let imageEnv: string[];
    try {
      const base = await this.baseImages.get(config.image, signal, system);
      imageId = base.id;
      imageEnv = base.env;
      const requirements = normaliseRequirements(job.files['requirements.txt'] ?? '');
      if (requirements.length > 0) {
        const venv = await this.venvImages.get(base, requirements, job.executionId, signal, system);
        system(`requirements installed in the image ${venv.tag}`);
        imageId = venv.id;
        binDir = `${VENV_DIR}/bin`;
        python = `${binDir}/python`;
      }
    } catch (error) {
      if (error instanceof AbortedError) {
        system('stopped while preparing the image: the program did not start');
        return { exitCode: null };
      }
      throw error;
    }
    if (signal.aborted) return { exitCode: null };

    const files: ArchiveEntry[] = [];
    const inputs = programInputs(job);
    if (inputs.inFile) {
      files.push({ name: `tensorify/run/${INPUTS_FILE}`, mode: 0o644, content: inputs.json });
      system(inputs.notice);
    }
    const env = programEnvironment({
      job,
      inputs,
      workDir: WORK_DIR,
      binDir,
      imageEnv,
      outputFile: `${WORK_DIR}/${OUTPUT_FILE}`,
      configEnv: config.env,
    });
    const dropped = dropUnusableVariables(env);
    if (dropped) system(dropped);

    const container = await this.createRunContainer(job, imageId, [python, ...inputs.args], env);
    try {
      const owner = numericUser(config.user);
      const dirMode = config.user !== undefined && owner === undefined ? 0o777 : 0o755; // a named user: its uid is unknown here
      const archive = await packArchive([
        { name: 'tensorify/', mode: 0o755 },
        { name: 'tensorify/run/', mode: dirMode, ...owner },
        ...PROGRAM_FILES.map((name) => ({ name: `tensorify/run/${name}`, mode: 0o644, content: job.files[name] ?? '', ...owner })),
        ...files.map((file) => ({ ...file, ...owner })),
      ]);
      await withTimeout(CALL_TIMEOUT_MS, 'copying the program into its container', (abortSignal) => container.putArchive(archive, { path: '/', abortSignal }));
      if (signal.aborted) return { exitCode: null };

      const externalId = container.id.slice(0, 12);
      context.setExternalId(externalId);
      let result;
      let lastStderr = '';
      try {
        result = await runContainer({
          container,
          signal,
          killGraceMs: config.killGraceSeconds * 1000,
          maxLineBytes: config.logLineMaxBytes,
          onLine: (stream, line) => {
            if (stream === 'stderr') lastStderr = line;
            context.log(stream, line);
          },
          onNotice: system,
        });
      } catch (error) {
        throw refusal(error, job, 'the container cannot start');
      }
      if (result.aborted) return { exitCode: result.statusCode >= 128 ? null : result.statusCode, externalId };
      // docker-init could not execute the interpreter: the image does not fit the configuration.
      const notRun = result.statusCode === 127 ? /^\[FATAL tini \(\d+\)\] exec (.+) failed: (.+)$/.exec(lastStderr) : null;
      if (notRun)
        throw new ExecutorUnavailableError(`docker executor: the Python interpreter ${notRun[1]} cannot run in the image ${config.image}: ${notRun[2]}`);

      await this.reportOutOfMemory(container, result.statusCode, system);
      const output = await this.readOutput(container, system);
      return { exitCode: result.statusCode, output, externalId };
    } finally {
      await this.remove(container, system);
    }
  }

  private createRunContainer(job: ExecutionJob, image: string, command: string[], env: Record<string, string>): Promise<Docker.Container> {
    const { config } = this;
    const hostConfig: Docker.HostConfig = {
      Init: true, // docker-init as PID 1: signals reach the program, orphans are reaped
      NetworkMode: config.network,
      LogConfig: { Type: 'none', Config: {} }, // the output is streamed to the execution's log; the engine keeps no copy
      SecurityOpt: ['no-new-privileges'],
    };
    if (config.memoryBytes !== undefined) {
      hostConfig.Memory = config.memoryBytes;
      hostConfig.MemorySwap = config.memoryBytes; // no swap beyond the limit
    }
    if (config.cpus !== undefined) hostConfig.NanoCpus = Math.round(config.cpus * 1e9);
    if (config.pidsLimit !== undefined) hostConfig.PidsLimit = config.pidsLimit;
    if (config.shmSizeBytes !== undefined) hostConfig.ShmSize = config.shmSizeBytes;
    if (job.gpu) hostConfig.DeviceRequests = [{ Driver: '', Count: -1, Capabilities: [['gpu']] }]; // docker run --gpus all
    return withTimeout(CALL_TIMEOUT_MS, 'creating the container', (abortSignal) =>
      this.docker.createContainer({
        Image: image,
        Entrypoint: [],
        Cmd: command,
        WorkingDir: WORK_DIR,
        Env: envList(env),
        ...(config.user !== undefined ? { User: config.user } : {}),
        Labels: { ...this.labels('run', job.executionId), 'tensorify.workflow': job.workflowId },
        AttachStdin: false,
        AttachStdout: true,
        AttachStderr: true,
        OpenStdin: false,
        Tty: false,
        HostConfig: hostConfig,
        abortSignal,
      }),
    ).catch((error: unknown) => {
      throw refusal(error, job, 'the container cannot be created');
    });
  }

  /** Says so in the log when the container was killed for passing its memory limit. */
  private async reportOutOfMemory(container: Docker.Container, statusCode: number, system: (line: string) => void): Promise<void> {
    let oomKilled = false;
    try {
      const info = await withTimeout(CALL_TIMEOUT_MS, 'inspecting the container', (abortSignal) => container.inspect({ abortSignal }));
      oomKilled = info.State?.OOMKilled === true;
    } catch {
      // judged by the exit code alone
    }
    // 137 = 128 + SIGKILL: with a memory limit and no cancel, the kernel's OOM killer (the engine does not always flag it).
    if (!oomKilled && !(statusCode === 137 && this.config.memoryBytes !== undefined)) return;
    const limit = this.config.memoryBytes === undefined ? '' : ` (limit ${formatSize(this.config.memoryBytes)})`;
    system(`The container ran out of memory${limit} and was killed`);
  }

  /** The program's output: the JSON of its TENSORIFY_OUTPUT file, copied out of the stopped container; undefined when it wrote none or not JSON (said in the log). */
  private async readOutput(container: Docker.Container, system: (line: string) => void): Promise<unknown> {
    let text: string;
    try {
      const stream = await withTimeout(CALL_TIMEOUT_MS, 'copying the output out of the container', (abortSignal) =>
        container.getArchive({ path: `${WORK_DIR}/${OUTPUT_FILE}`, abortSignal }),
      );
      const content = await firstFile(await readAll(stream, OUTPUT_MAX_BYTES + 64 * 1024));
      if (content === undefined) return undefined;
      if (content.length > OUTPUT_MAX_BYTES) throw new TooLargeError(`larger than ${OUTPUT_MAX_BYTES} bytes`);
      text = content.toString('utf8');
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      if (error instanceof TooLargeError) {
        system(`the output file (TENSORIFY_OUTPUT) is too large to read back (${error.message}), so the run has no output`);
        return undefined;
      }
      system(`the output file (TENSORIFY_OUTPUT) cannot be read: ${engineMessage(error)}`);
      return undefined;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      system(`the output file (TENSORIFY_OUTPUT) is not valid JSON, so the run has no output: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Removes the run's container, retrying a failure; what still fails is logged (the next server start removes it). */
  private async remove(container: Docker.Container, system: (line: string) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await removeContainer(container);
        return;
      } catch (error) {
        if (attempt >= REMOVE_ATTEMPTS) {
          const message = engineMessage(error);
          system(`the container ${container.id.slice(0, 12)} could not be removed: ${message}`);
          this.host.logger.warn('docker executor: cannot remove a container', { container: container.id, error: message });
          return;
        }
        await delay(500 * attempt);
      }
    }
  }

  private labels(role: Role, executionId: string): Record<string, string> {
    return {
      'tensorify.executor': 'docker',
      'tensorify.execution': executionId,
      'tensorify.role': role,
      'tensorify.host': os.hostname(),
      'tensorify.pid': String(process.pid),
      'tensorify.instance': this.instance,
    };
  }

  /**
   * Crash recovery: removes the containers (runs and requirements builds) that a previous process
   * of this server left on the engine. Only labelled containers are considered, and only those
   * of this host (tensorify.host) whose process is gone, or of this process's pid but another
   * instance (a restart in a container, where the pid is always the same). Containers of other
   * live servers sharing the engine are left alone.
   */
  private async removeLeftovers(): Promise<number> {
    return withTimeout(RECOVERY_TIMEOUT_MS, 'removing leftover containers', async (abortSignal) => {
      const containers = await this.docker.listContainers({ all: true, filters: { label: ['tensorify.executor=docker'] }, abortSignal });
      let removed = 0;
      for (const summary of containers) {
        const labels = summary.Labels ?? {};
        if (!isLeftover(labels)) continue;
        await removeContainer(this.docker.getContainer(summary.Id));
        removed += 1;
        this.host.logger.info('docker executor: removed a container left by a previous server process', {
          container: summary.Id.slice(0, 12),
          execution: labels['tensorify.execution'],
          state: summary.State,
        });
      }
      return removed;
    });
  }

  /** The engine's address, for messages. */
  private endpoint(): Promise<string> {
    this.endpointName ??= describeEndpoint(this.docker);
    return this.endpointName;
  }

  private async probe(): Promise<ExecutorCapabilities> {
    const endpoint = await this.endpoint();
    const { config } = this;
    try {
      const [info, version, imagePresent] = await withTimeout(CAPABILITIES_TIMEOUT_MS, 'asking the engine', (abortSignal) =>
        Promise.all([
          callWithSignal<EngineInfo>(this.docker, 'info', abortSignal),
          callWithSignal<{ Version?: string }>(this.docker, 'version', abortSignal),
          this.docker
            .getImage(config.image)
            .inspect()
            .then(
              () => true,
              (error: unknown) => {
                if (statusOf(error) === 404) return false;
                throw error;
              },
            ),
        ]),
      );
      const runtimes = Object.keys(info.Runtimes ?? {});
      const gpu = config.gpu === 'auto' ? runtimes.includes('nvidia') : config.gpu;
      const gpus = gpu ? gpusOf(info) : [];
      const unusable = !imagePresent && config.pullPolicy === 'never';
      const parts = [
        `Docker ${version.Version ?? info.ServerVersion ?? '?'}`,
        `${info.NCPU ?? '?'} CPUs`,
        `image ${config.image} ${imagePresent ? 'present' : 'missing'}${unusable ? ' (pullPolicy "never": runs fail)' : ''}`,
      ];
      if (gpu) parts.push(runtimes.includes('nvidia') ? 'nvidia runtime' : 'GPUs as configured');
      return { gpu, ...(gpus.length > 0 ? { gpus } : {}), healthy: !unusable, detail: parts.join(', ') };
    } catch (error) {
      return { gpu: false, healthy: false, detail: `cannot reach the Docker engine at ${endpoint}: ${engineMessage(error)}` };
    }
  }
}

/**
 * What the engine's refusal to create or start a container means for the run: no GPU to give
 * (ExecutorUnavailableError: the backend lacks it), or another refusal (a plain Error quoting
 * the engine); errors that are not the engine's answers pass through.
 */
function refusal(error: unknown, job: ExecutionJob, what: string): unknown {
  if (statusOf(error) === undefined) return error;
  const message = engineMessage(error);
  if (job.gpu && /device driver|capabilities: \[\["?gpu"?\]\]|nvidia/i.test(message)) {
    return new ExecutorUnavailableError(`docker executor: the Docker engine cannot give this run a GPU: ${message}`);
  }
  return new Error(`docker executor: ${what}: ${message}`);
}

interface EngineInfo {
  NCPU?: number;
  ServerVersion?: string;
  Runtimes?: Record<string, unknown>;
  GenericResources?: { NamedResourceSpec?: { Kind?: string; Value?: string }; DiscreteResourceSpec?: { Kind?: string; Value?: number } }[];
}

/** The GPUs the engine advertises as generic resources (node-generic-resources in daemon.json), when it does. */
function gpusOf(info: EngineInfo): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const resource of info.GenericResources ?? []) {
    const named = resource.NamedResourceSpec;
    if (named?.Kind && /gpu/i.test(named.Kind))
      gpus.push({ model: `${named.Kind} ${named.Value ?? ''}`.trim(), ...(/nvidia/i.test(named.Kind) ? { vendor: 'NVIDIA' } : {}) });
    const discrete = resource.DiscreteResourceSpec;
    if (discrete?.Kind && /gpu/i.test(discrete.Kind)) {
      for (let i = 0; i < (discrete.Value ?? 0); i++) gpus.push({ model: discrete.Kind, ...(/nvidia/i.test(discrete.Kind) ? { vendor: 'NVIDIA' } : {}) });
    }
  }
  return gpus;
}

/** Whether a labelled container was left by a server process that is gone (see removeLeftovers). */
function isLeftover(labels: Record<string, string>): boolean {
  const host = labels['tensorify.host'];
  if (host !== undefined && host !== os.hostname()) return false; // another machine's server: not ours to judge
  const instance = labels['tensorify.instance'];
  if (instance !== undefined && liveInstances.has(instance)) return false;
  const pid = Number(labels['tensorify.pid']);
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) return false;
  return true;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** uid and gid of a numeric `user` ("1000" or "1000:1000"), for the files' owner. */
function numericUser(user: string | undefined): { uid: number; gid: number } | undefined {
  const match = user === undefined ? null : /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match) return undefined;
  return { uid: Number(match[1]), gid: Number(match[2] ?? 0) };
}

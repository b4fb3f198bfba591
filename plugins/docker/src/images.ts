import type Docker from 'dockerode';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { AbortedError, ExecutorUnavailableError, SharedBuilds, untilAborted } from '@tensorify/executor-sdk';
import { packArchive, type ArchiveEntry } from './archive';
import type { PullPolicy, ResolvedConfig } from './config';
import { CALL_TIMEOUT_MS, removeContainer, runContainer } from './containers';
import { EngineTimeoutError, engineMessage, isConnectionError, statusOf, withTimeout } from './engine';
import { recipeHash, type LocalFile, type LocalFiles } from './requirements';

/** The repository of the derived images: `tensorify-venv:<hash>`. */
export const VENV_REPOSITORY = 'tensorify-venv';
/** Where the derived images have their virtualenv. */
export const VENV_DIR = '/opt/tensorify/venv';
/** Where a requirements build gets its files (requirements.txt, wheels/). */
const BUILD_DIR = '/tensorify/build';
/** How many of pip's last lines the error of a failed build quotes. */
const ERROR_TAIL_LINES = 15;

/**
 * The builder's program, run by the image's own interpreter (no shell, so no quoting: pip's
 * arguments are its argv): `python -m venv`, then `pip install -r requirements.txt <args>`, then
 * the uploaded wheels are deleted so that they do not stay in the image.
 */
const BUILD_SCRIPT = [
  'import shutil, subprocess, sys',
  `venv, build = ${JSON.stringify(VENV_DIR)}, ${JSON.stringify(BUILD_DIR)}`,
  'print("$ python -m venv " + venv, flush=True)',
  'code = subprocess.call([sys.executable, "-m", "venv", venv])',
  'if code == 0:',
  '    command = [venv + "/bin/python", "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r", build + "/requirements.txt"] + sys.argv[1:]',
  '    print("$ pip install -r requirements.txt " + " ".join(sys.argv[1:]), flush=True)',
  '    code = subprocess.call(command)',
  'shutil.rmtree(build + "/wheels", ignore_errors=True)',
  'sys.exit(code)',
].join('\n');

/** What the executor knows of an image. */
export interface ImageInfo {
  /** `sha256:…` */
  id: string;
  /** Its `Config.Env` (`NAME=value`). */
  env: string[];
}

export type SystemLog = (line: string) => void;

/** An image's id and environment, or undefined when the engine does not have it. */
export async function inspectImage(docker: Docker, name: string): Promise<ImageInfo | undefined> {
  try {
    const info = await withTimeout(CALL_TIMEOUT_MS, `inspecting the image ${name}`, () => docker.getImage(name).inspect());
    return { id: info.Id, env: info.Config?.Env ?? [] };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/** The configured image, pulled as the pull policy says. One pull per image at a time. */
export class BaseImages {
  private readonly pulls = new Map<string, Promise<void>>();

  constructor(
    private readonly docker: Docker,
    private readonly policy: PullPolicy,
  ) {}

  /** The image, pulled first if the policy says so; ExecutorUnavailableError when it is missing and cannot be pulled. */
  async get(image: string, signal: AbortSignal, log: SystemLog): Promise<ImageInfo> {
    if (this.policy === 'always') await this.pull(image, signal, log);
    let info = await inspectImage(this.docker, image);
    if (info) return info;
    if (this.policy === 'never') {
      throw new ExecutorUnavailableError(
        `docker executor: the image ${image} is not on the Docker engine and pullPolicy is "never": load it there (docker pull, docker load) or set pullPolicy to "if-missing"`,
      );
    }
    if (this.policy === 'if-missing') await this.pull(image, signal, log);
    info = await inspectImage(this.docker, image);
    if (!info) throw new ExecutorUnavailableError(`docker executor: the image ${image} is still missing after it was pulled`);
    return info;
  }

  private async pull(image: string, signal: AbortSignal, log: SystemLog): Promise<void> {
    let pull = this.pulls.get(image);
    if (pull) log(`waiting for the pull of the image ${image}, which another run started`);
    else {
      pull = this.startPull(image, log).finally(() => this.pulls.delete(image));
      pull.catch(() => undefined); // every run may have left it
      this.pulls.set(image, pull);
    }
    await untilAborted(pull, signal);
  }

  private async startPull(image: string, log: SystemLog): Promise<void> {
    log(`pulling the image ${image}`);
    try {
      const stream = await withTimeout(CALL_TIMEOUT_MS, `pulling the image ${image}`, (signal) => this.docker.pull(image, { abortSignal: signal }));
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(
          stream,
          (error: Error | null) => (error ? reject(error) : resolve()),
          (event: { status?: string; id?: string; progressDetail?: { total?: number } }) => {
            // Per-layer byte counts are noise in a run's log; the phases are kept.
            if (!event.status || /^(Downloading|Extracting|Waiting|Verifying Checksum)/.test(event.status)) return;
            log(event.id ? `${event.id}: ${event.status}` : event.status);
          },
        );
      });
    } catch (error) {
      if (isConnectionError(error) && !(error instanceof EngineTimeoutError)) throw error; // the engine itself is gone: said as such by the executor
      throw new ExecutorUnavailableError(`docker executor: cannot pull the image ${image}: ${engineMessage(error)}`);
    }
    log(`pulled the image ${image}`);
  }
}

export interface VenvImagesOptions {
  docker: Docker;
  config: ResolvedConfig;
  findLinks?: LocalFiles;
  labels(role: 'build', executionId: string): Record<string, string>;
  /** Where each derived image's last use is kept: the mtime of `<useDir>/<hash>` (see VenvImagePruner). */
  useDir: string;
  /** Called after a new image was committed (the pruner then looks at the cache again). */
  onBuilt?: () => void;
}

/**
 * Derived images with the requirements installed in a virtualenv, `tensorify-venv:<hash>`, one
 * per (base image id, interpreter, normalised requirements, pip arguments, local packages).
 * Built without BuildKit or a Dockerfile: a container of the base image runs `python -m venv`
 * and pip, and is committed. One build per hash at a time in this process (every run waiting
 * for it sees pip's output); a failed build leaves no image.
 */
export class VenvImages {
  private readonly builds = new SharedBuilds<string>();
  /** The hash of the image each run of this process holds (from `get` to `release`): never pruned. */
  private readonly held = new Map<string, string>();
  /** Prunings under way, by hash: a run wanting that image waits for its pruning, then finds it gone and builds it again. */
  private readonly pruning = new Map<string, Promise<unknown>>();

  constructor(private readonly options: VenvImagesOptions) {}

  /**
   * The derived image's tag and id, built first if need be; AbortedError when `signal` aborts; an
   * Error quoting pip when the install fails. The run holds the image until {@link release}.
   */
  async get(base: ImageInfo, requirements: readonly string[], executionId: string, signal: AbortSignal, log: SystemLog): Promise<{ tag: string; id: string }> {
    const { config, findLinks } = this.options;
    const files = findLinks ? await findLinks.list() : [];
    const hash = recipeHash({ baseImageId: base.id, python: config.python, requirements, pipArgs: config.pipArgs, findLinks: files });
    const tag = `${VENV_REPOSITORY}:${hash}`;
    this.held.set(executionId, hash); // in the same tick as the check of `pruning`: see whilePruning
    await this.pruning.get(hash)?.catch(() => undefined);
    const id = await this.builds.get(hash, signal, log, {
      ready: async () => (await inspectImage(this.options.docker, tag))?.id,
      build: (buildSignal, buildLog) => this.build(hash, tag, base, requirements, files, executionId, buildSignal, buildLog),
      waiting: `waiting for the image ${tag}, which another run is building`,
    });
    await this.markUsed(hash);
    return { tag, id };
  }

  /** The run no longer needs its image (its container is gone). */
  release(executionId: string): void {
    this.held.delete(executionId);
  }

  /** Whether a run of this process holds the image of `hash`. */
  holds(hash: string): boolean {
    return [...this.held.values()].includes(hash);
  }

  /**
   * Runs `remove` unless a run holds the image; runs asking for it meanwhile wait until it ends.
   * Undefined when a run held it.
   */
  async whilePruning<T>(hash: string, remove: () => Promise<T>): Promise<T | undefined> {
    if (this.holds(hash) || this.pruning.has(hash)) return undefined;
    const removing = remove();
    this.pruning.set(hash, removing);
    try {
      return await removing;
    } finally {
      this.pruning.delete(hash);
    }
  }

  private async markUsed(hash: string): Promise<void> {
    const file = path.join(this.options.useDir, hash);
    const now = new Date();
    try {
      await utimes(file, now, now);
    } catch {
      await mkdir(this.options.useDir, { recursive: true, mode: 0o700 });
      await writeFile(file, '', { mode: 0o600 });
    }
  }

  private async build(
    hash: string,
    tag: string,
    base: ImageInfo,
    requirements: readonly string[],
    files: LocalFile[],
    executionId: string,
    signal: AbortSignal,
    log: SystemLog,
  ): Promise<string> {
    const { docker, config } = this.options;
    const pipArgs = [...config.pipArgs];
    if (files.length > 0) pipArgs.push('--find-links', `${BUILD_DIR}/wheels`);
    log(`building the image ${tag} (${config.image} with a virtualenv) for ${requirements.length} requirement(s): ${requirements.join(', ')}`);
    const env = {
      LANG: 'C.UTF-8',
      PYTHONUNBUFFERED: '1',
      PIP_NO_CACHE_DIR: '1',
      PIP_ROOT_USER_ACTION: 'ignore',
      ...config.env,
    };
    const container = await withTimeout(CALL_TIMEOUT_MS, 'creating the build container', (abortSignal) =>
      docker.createContainer({
        Image: base.id,
        Entrypoint: [],
        Cmd: [config.python, '-c', BUILD_SCRIPT, ...pipArgs],
        WorkingDir: BUILD_DIR,
        User: '0:0',
        Env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
        Labels: { ...this.options.labels('build', executionId), 'tensorify.venv': hash },
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: {
          NetworkMode: config.buildNetwork,
          Init: true,
          LogConfig: { Type: 'none', Config: {} },
          SecurityOpt: ['no-new-privileges'],
        },
        abortSignal,
      }),
    );
    try {
      const entries: ArchiveEntry[] = [
        { name: 'tensorify/', mode: 0o755 },
        { name: 'tensorify/build/', mode: 0o755 },
        { name: 'tensorify/build/requirements.txt', mode: 0o644, content: requirements.join('\n') + '\n' },
      ];
      if (files.length > 0) {
        entries.push({ name: 'tensorify/build/wheels/', mode: 0o755 });
        for (const file of files) entries.push({ name: `tensorify/build/wheels/${file.name}`, mode: 0o644, content: await readFile(file.path) });
        log(`${files.length} local package file(s) from pipFindLinksDir: ${files.map((file) => file.name).join(', ')}`);
      }
      const archive = await packArchive(entries);
      await withTimeout(CALL_TIMEOUT_MS, 'copying the requirements into the build container', (abortSignal) =>
        container.putArchive(archive, { path: '/', abortSignal }),
      );

      const tail: string[] = [];
      const line = (text: string): void => {
        log(text);
        tail.push(text);
        if (tail.length > ERROR_TAIL_LINES) tail.shift();
      };
      const result = await runContainer({
        container,
        signal,
        killGraceMs: config.killGraceSeconds * 1000,
        maxLineBytes: config.logLineMaxBytes,
        onLine: (_stream, text) => line(text),
        onNotice: log,
      });
      if (result.aborted || signal.aborted) throw new AbortedError('aborted');
      const notRun = result.statusCode === 127 ? /^\[FATAL tini \(\d+\)\] exec (.+) failed: (.+)$/.exec(tail[tail.length - 1] ?? '') : null;
      if (notRun)
        throw new ExecutorUnavailableError(`docker executor: the Python interpreter ${notRun[1]} cannot run in the image ${config.image}: ${notRun[2]}`);
      if (result.statusCode !== 0) {
        throw new Error(`docker executor: installing the requirements failed (exit code ${result.statusCode}):\n${tail.join('\n')}`);
      }
      const committed = await withTimeout(
        CALL_TIMEOUT_MS,
        `committing the image ${tag}`,
        (abortSignal) =>
          container.commit({
            _query: { container: container.id, repo: VENV_REPOSITORY, tag: hash, comment: `Tensorify virtualenv: ${requirements.join(', ')}`, pause: false },
            // The image's config: the base's environment (not the build's pip settings), no build labels.
            _body: {
              Env: base.env,
              Cmd: [config.python],
              WorkingDir: '/',
              Labels: { 'tensorify.executor': 'docker', 'tensorify.role': 'venv', 'tensorify.venv': hash, 'tensorify.base-image': base.id },
            },
            abortSignal,
          }) as Promise<{ Id: string }>,
      );
      log(`image ${tag} ready`);
      await this.markUsed(hash);
      this.options.onBuilt?.();
      return committed.Id;
    } finally {
      await removeContainer(container);
    }
  }
}

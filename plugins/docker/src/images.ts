import type Docker from 'dockerode';
import { readFile } from 'node:fs/promises';
import { ExecutorUnavailableError } from '@tensorify/executor-sdk';
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

/** Thrown while a run waits for a pull or a build when its signal aborts. */
export class AbortedError extends Error {
  override readonly name = 'AbortedError';
}

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
      const stream = await withTimeout(
        CALL_TIMEOUT_MS,
        `pulling the image ${image}`,
        (signal) => this.docker.pull(image, { abortSignal: signal }) as Promise<NodeJS.ReadableStream>,
      );
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
}

interface Build {
  promise: Promise<string>;
  /** The log of every run waiting for this build: pip's lines go to each. */
  listeners: Set<SystemLog>;
  /** Aborted once no run waits for the build any more. */
  controller: AbortController;
  settled: boolean;
}

/**
 * Derived images with the requirements installed in a virtualenv, `tensorify-venv:<hash>`, one
 * per (base image id, interpreter, normalised requirements, pip arguments, local packages).
 * Built without BuildKit or a Dockerfile: a container of the base image runs `python -m venv`
 * and pip, and is committed. One build per hash at a time in this process (every run waiting
 * for it sees pip's output); a failed build leaves no image.
 */
export class VenvImages {
  private readonly builds = new Map<string, Build>();

  constructor(private readonly options: VenvImagesOptions) {}

  /** The derived image's tag and id, built first if need be; AbortedError when `signal` aborts; an Error quoting pip when the install fails. */
  async get(base: ImageInfo, requirements: readonly string[], executionId: string, signal: AbortSignal, log: SystemLog): Promise<{ tag: string; id: string }> {
    const { config, findLinks } = this.options;
    const files = findLinks ? await findLinks.list() : [];
    const hash = recipeHash({ baseImageId: base.id, python: config.python, requirements, pipArgs: config.pipArgs, findLinks: files });
    const tag = `${VENV_REPOSITORY}:${hash}`;
    for (;;) {
      const ready = await inspectImage(this.options.docker, tag);
      if (ready) return { tag, id: ready.id };
      if (signal.aborted) throw new AbortedError('aborted');
      let build = this.builds.get(hash);
      if (build?.controller.signal.aborted) {
        // Being torn down because every run waiting for it left: let it end, then start anew.
        await build.promise.catch(() => undefined);
        continue;
      }
      if (build) {
        log(`waiting for the image ${tag}, which another run is building`);
        build.listeners.add(log);
      } else {
        build = this.start(hash, tag, base, requirements, files, executionId, log);
      }
      try {
        return { tag, id: await untilAborted(build.promise, signal) };
      } finally {
        build.listeners.delete(log);
        if (build.listeners.size === 0 && !build.settled) {
          // The last run waiting for it left: stop the build, and return once its container is gone.
          build.controller.abort();
          await build.promise.catch(() => undefined);
        }
      }
    }
  }

  private start(hash: string, tag: string, base: ImageInfo, requirements: readonly string[], files: LocalFile[], executionId: string, first: SystemLog): Build {
    const controller = new AbortController();
    const listeners = new Set<SystemLog>([first]); // before the build starts: it logs at once
    const build: Build = { listeners, controller, settled: false, promise: Promise.resolve('') };
    const log = (line: string): void => listeners.forEach((listener) => listener(line));
    build.promise = this.build(hash, tag, base, requirements, files, executionId, controller.signal, log).finally(() => {
      build.settled = true;
      if (this.builds.get(hash) === build) this.builds.delete(hash);
    });
    build.promise.catch(() => undefined); // it may end with no run left to hear of it
    this.builds.set(hash, build);
    return build;
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
      return committed.Id;
    } finally {
      await removeContainer(container);
    }
  }
}

/** Resolves with the promise, or rejects with AbortedError as soon as the signal aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortedError('aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

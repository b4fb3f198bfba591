import type Docker from 'dockerode';
import { readdir, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { type CacheEntry, type CacheLimits, CachePruner, type PluginLogger } from '@tensorify/executor-sdk';
import { CALL_TIMEOUT_MS } from './containers';
import { engineMessage, statusOf, withTimeout } from './engine';
import { VENV_REPOSITORY, type VenvImages } from './images';

/** How often the derived images are pruned besides at boot and after each new one. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
/** An image whose use mark is this fresh may be between a run's `get` and its container in another process sharing the data dir. */
const IN_USE_MS = 60_000;
const HASH = /^[0-9a-f]{16,64}$/;

export interface VenvImagePrunerOptions {
  docker: Docker;
  images: VenvImages;
  limits: CacheLimits;
  logger: PluginLogger;
  /** VenvImages' use marks: `<useDir>/<hash>`, whose mtime is the image's last use. */
  useDir: string;
  intervalMs?: number;
  /** Milliseconds from start() to the first pruning; default 0. */
  firstDelayMs?: number;
}

/**
 * Prunes the derived images (`tensorify-venv:<hash>`) this executor built or used — those with a
 * use mark in its data dir; another server's images on a shared engine are that server's — at
 * boot (the executor asks for it two seconds after create()), every hour and after each new image
 * (see `cacheEntriesToPrune`). An image's size is what it adds to its base image (`Size` of the
 * engine's inspect, less the base's); its last use is the mtime of its mark. In use, never deleted: held by a run of this process, the image of any
 * container of this plugin (running, or created and about to start), or marked within the last
 * minute. The engine itself refuses to delete an image a container uses (409), which is taken as
 * "in use" too.
 */
export class VenvImagePruner extends CachePruner<CacheEntry> {
  constructor(options: VenvImagePrunerOptions) {
    super({
      limits: options.limits,
      list: () => listImages(options),
      remove: (entry) => removeImage(entry.key, options),
      pruned: (entry, description) =>
        options.logger.info(`docker executor: pruned the image ${VENV_REPOSITORY}:${description}`, { reason: entry.reason, bytes: entry.sizeBytes }),
      onError: (error) => options.logger.warn('docker executor: pruning the derived images failed', { error: engineMessage(error) }),
      intervalMs: options.intervalMs ?? PRUNE_INTERVAL_MS,
      firstDelayMs: options.firstDelayMs,
    });
  }
}

/** The derived images with a use mark, sized beyond their base; the marks of images removed by hand go on the way. */
async function listImages({ docker, images, useDir }: VenvImagePrunerOptions): Promise<CacheEntry[]> {
  const marks = await readMarks(useDir);
  if (marks.size === 0) return [];
  const [derived, containers] = await Promise.all([
    withTimeout(CALL_TIMEOUT_MS, 'listing the derived images', (abortSignal) =>
      docker.listImages({ filters: { label: ['tensorify.role=venv'] }, abortSignal } as Docker.ListImagesOptions),
    ),
    withTimeout(CALL_TIMEOUT_MS, 'listing the containers', (abortSignal) =>
      docker.listContainers({ all: true, filters: { label: ['tensorify.executor=docker'] }, abortSignal }),
    ),
  ]);
  const imagesOfContainers = new Set(containers.map((container) => container.ImageID));
  const baseSizes = new Map<string, number>();
  const entries: CacheEntry[] = [];
  for (const image of derived) {
    const hash = image.Labels?.['tensorify.venv'];
    const markedAt = hash === undefined ? undefined : marks.get(hash);
    if (hash === undefined || markedAt === undefined || !(image.RepoTags ?? []).includes(`${VENV_REPOSITORY}:${hash}`)) continue;
    const size = await imageSize(docker, image.Id);
    if (size === undefined) continue; // gone meanwhile
    const base = image.Labels?.['tensorify.base-image'];
    if (base !== undefined && !baseSizes.has(base)) baseSizes.set(base, (await imageSize(docker, base)) ?? 0);
    entries.push({
      key: hash,
      sizeBytes: Math.max(0, size - (base === undefined ? 0 : (baseSizes.get(base) ?? 0))),
      lastUsedAt: markedAt,
      inUse: images.holds(hash) || imagesOfContainers.has(image.Id) || Date.now() - markedAt < IN_USE_MS,
    });
  }
  for (const [hash, markedAt] of marks) {
    // The mark of an image removed by hand (docker rmi): nothing left to prune.
    if (Date.now() - markedAt >= IN_USE_MS && !derived.some((image) => image.Labels?.['tensorify.venv'] === hash))
      await rm(path.join(useDir, hash), { force: true });
  }
  return entries;
}

/** Removes the image and its mark unless a container uses it (the engine's 409); whether it did. */
async function removeImage(hash: string, { docker, images, useDir }: VenvImagePrunerOptions): Promise<boolean> {
  const tag = `${VENV_REPOSITORY}:${hash}`;
  const removed = await images.whilePruning(hash, async () => {
    try {
      await withTimeout(CALL_TIMEOUT_MS, `removing the image ${tag}`, (abortSignal) => docker.getImage(tag).remove({ abortSignal }));
      return true;
    } catch (error) {
      const status = statusOf(error);
      if (status === 409) return false; // a container uses it: in use after all
      if (status !== 404) throw error;
      return true; // already gone
    }
  });
  if (!removed) return false;
  await rm(path.join(useDir, hash), { force: true });
  return true;
}

/** The use marks: hash → mtime (ms). */
async function readMarks(useDir: string): Promise<Map<string, number>> {
  const marks = new Map<string, number>();
  let names: string[];
  try {
    names = await readdir(useDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return marks;
    throw error;
  }
  for (const name of names.filter((entry) => HASH.test(entry))) {
    const info = await stat(path.join(useDir, name)).catch(() => undefined);
    if (info) marks.set(name, info.mtimeMs);
  }
  return marks;
}

/** The image's `Size` as the engine's inspect gives it, or undefined when it is gone. */
async function imageSize(docker: Docker, id: string): Promise<number | undefined> {
  try {
    const info = await withTimeout(CALL_TIMEOUT_MS, `inspecting the image ${id}`, () => docker.getImage(id).inspect());
    return info.Size;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

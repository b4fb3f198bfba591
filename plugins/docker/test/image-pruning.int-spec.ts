/**
 * Pruning the docker executor's derived images against a real Docker engine, with the image and
 * engine of scripts/ci/docker (see docker-executor.int-spec.ts): the requirements are wheels built
 * here, installed offline.
 */
import { readdirSync, utimesSync } from 'node:fs';
import * as path from 'node:path';
import { createTestContext, type PluginLogger, silentLogger, testJob } from '@tensorify/executor-sdk';
import type { DockerExecutor } from '../src/index';
import { buildWheel, engine, makeExecutor as makeEngineExecutor, tempDir } from './helpers';

jest.setTimeout(180_000);

const DAY = 24 * 60 * 60 * 1000;
const TOKEN = `${Math.random().toString(36).slice(2, 8)}${Date.now().toString(36)}`;

const tags = new Set<string>();

afterAll(async () => {
  for (const tag of tags)
    await engine
      .getImage(tag)
      .remove({ force: true })
      .catch(() => undefined);
});

/** An executor on its own data dir whose pruner runs only when the test says (no limits in its config). */
async function makeExecutor(wheels: string): Promise<{ executor: DockerExecutor; dataDir: string; logger: PluginLogger & { infos: string[] } }> {
  const infos: string[] = [];
  const logger = { ...silentLogger, infos, info: (message: string) => infos.push(message) };
  const { executor, dataDir } = await makeEngineExecutor(
    { killGraceSeconds: 1, pipArgs: ['--no-index'], pipFindLinksDir: wheels, buildNetwork: 'none', cache: { maxSizeGb: null, maxAgeDays: null } },
    logger,
  );
  return { executor, dataDir, logger };
}

/** Runs a program needing `packages` (and sleeping `sleep` seconds); resolves to the derived image's hash. */
async function runWith(executor: DockerExecutor, packages: string[], sleep = 0): Promise<string> {
  const context = createTestContext();
  const main = `import time\nimport ${packages.join(', ')}\ntime.sleep(${sleep})\nprint("ok")`;
  const result = await executor.run(testJob({ 'main.py': main, 'requirements.txt': packages.join('\n') }), context);
  expect({ exitCode: result.exitCode, stdout: context.of('stdout') }).toEqual({ exitCode: 0, stdout: ['ok'] });
  const tag = /^requirements installed in the image (\S+)$/.exec(context.of('system').find((line) => line.startsWith('requirements installed'))!)![1];
  tags.add(tag);
  return tag.slice('tensorify-venv:'.length);
}

function markUsed(dataDir: string, hash: string, daysAgo: number): void {
  const at = new Date(Date.now() - daysAgo * DAY);
  utimesSync(path.join(dataDir, 'venv-images', hash), at, at);
}

const exists = (hash: string): Promise<boolean> =>
  engine
    .getImage(`tensorify-venv:${hash}`)
    .inspect()
    .then(
      () => true,
      () => false,
    );

/** What a derived image adds to its base, as the pruner weighs it. */
async function addedSize(hash: string): Promise<number> {
  const image = await engine.getImage(`tensorify-venv:${hash}`).inspect();
  const base = await engine.getImage(image.Config.Labels['tensorify.base-image']).inspect();
  return image.Size - base.Size;
}

describe('docker executor: pruning the derived images', () => {
  let wheels: string;
  beforeAll(() => {
    wheels = tempDir();
    for (const name of ['prunea', 'pruneb', 'prunec']) buildWheel(wheels, name, '1.0', `TOKEN = "${TOKEN}"\n`);
  });

  it('deletes the least recently used beyond the size and any unused past the age; never one in use; leaves other servers’ images alone', async () => {
    const { executor, dataDir, logger } = await makeExecutor(wheels);
    const a = await runWith(executor, ['prunea']);
    const b = await runWith(executor, ['pruneb']);
    const c = await runWith(executor, ['prunec']);
    // Another server (its own data dir) on the same engine built this one: not ours to prune.
    const other = await makeExecutor(wheels);
    const foreign = await runWith(other.executor, ['prunea', 'pruneb']);
    markUsed(other.dataDir, foreign, 400);

    // LRU beyond the size: c (used 1 day ago) and b (2) fit, a (3) goes.
    markUsed(dataDir, a, 3);
    markUsed(dataDir, b, 2);
    markUsed(dataDir, c, 1);
    const limit = (await addedSize(b)) + (await addedSize(c)) + 1024;
    const { imagePruner } = executor;
    expect((await imagePruner.prune({ maxBytes: limit, maxAgeMs: null })).map((entry) => [entry.key, entry.reason])).toEqual([[a, 'size']]);
    expect([await exists(a), await exists(b), await exists(c), await exists(foreign)]).toEqual([false, true, true, true]);
    expect(readdirSync(path.join(dataDir, 'venv-images')).sort()).toEqual([b, c].sort());
    expect(logger.infos[0]).toMatch(
      new RegExp(`^docker executor: pruned the image tensorify-venv:${a}: [\\d.]+ MiB, least recently used \\(3\\.0 days ago\\)`),
    );

    // In use: b by a running program, c by a container of this plugin (created, not started): neither goes, whatever the limits.
    markUsed(dataDir, b, 40);
    markUsed(dataDir, c, 40);
    const limits = { maxBytes: 1, maxAgeMs: 30 * DAY };
    const container = await engine.createContainer({ Image: `tensorify-venv:${c}`, Cmd: ['true'], Labels: { 'tensorify.executor': 'docker' } });
    try {
      const running = runWith(executor, ['pruneb'], 4);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // the run holds its image from the start
      expect(await imagePruner.prune(limits)).toEqual([]);
      expect(await running).toBe(b);
      expect([await exists(b), await exists(c)]).toEqual([true, true]);
    } finally {
      await container.remove({ force: true });
    }

    // Unused for 40 days (the run above marked b again: make it old once more): both go, by age.
    markUsed(dataDir, b, 40);
    const pruned = await imagePruner.prune(limits);
    expect(pruned.map((entry) => [entry.key, entry.reason]).sort()).toEqual(
      [
        [b, 'age'],
        [c, 'age'],
      ].sort(),
    );
    expect([await exists(b), await exists(c), await exists(foreign)]).toEqual([false, false, true]);

    // A run wanting a pruned image builds it again.
    expect(await runWith(executor, ['prunea'])).toBe(a);
    expect(await exists(a)).toBe(true);
  });
});

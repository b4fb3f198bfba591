/**
 * Pruning the local executor's venv cache, on real virtualenvs (`python3 -m venv --without-pip`,
 * laid out as VenvCache lays them out) in a temporary dir, and on venvs the executor builds with pip.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, symlinkSync, utimesSync, watch, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createTestContext, normaliseRequirements, type PluginLogger, silentLogger, type TestContext, testJob } from '@tensorify/executor-sdk';
import { InterpreterCache } from '../src/interpreter';
import { requirementsHash, VenvCache, VenvPruner } from '../src/venvs';
import { makeExecutor, PIP_ARGS, tempDir } from './helpers';

const DAY = 24 * 60 * 60 * 1000;
const MIB = 2 ** 20;

/** A real venv published under `dir` as VenvCache does (`<hash>` → `<hash>-<random>`), last used `daysAgo`, holding `fillerBytes` more. */
function makeVenv(dir: string, daysAgo: number, fillerBytes = MIB): string {
  const hash = randomBytes(16).toString('hex');
  const target = path.join(dir, `${hash}-${randomBytes(4).toString('hex')}`);
  execFileSync('python3', ['-m', 'venv', '--without-pip', target]);
  writeFileSync(path.join(target, 'filler.bin'), Buffer.alloc(fillerBytes));
  symlinkSync(path.basename(target), path.join(dir, hash));
  const mark = path.join(target, '.tensorify-last-used');
  writeFileSync(mark, '');
  const at = new Date(Date.now() - daysAgo * DAY);
  utimesSync(mark, at, at);
  return hash;
}

function recordingLogger(): PluginLogger & { infos: string[] } {
  const infos: string[] = [];
  return { ...silentLogger, infos, info: (message) => infos.push(message) };
}

const published = (dir: string): string[] =>
  readdirSync(dir)
    .filter((name) => /^[0-9a-f]{32}$/.test(name))
    .sort();

describe(VenvPruner.name, () => {
  it('deletes the least recently used venvs until the cache fits its size, each logged with its reason', async () => {
    const dir = tempDir();
    const oldest = makeVenv(dir, 9);
    const recent = makeVenv(dir, 1);
    const older = makeVenv(dir, 5);
    const newest = makeVenv(dir, 0.5);
    const logger = recordingLogger();
    // Each venv is a little over 1 MiB: 2.5 MiB leaves room for two.
    const pruned = await new VenvPruner({ dir, limits: { maxBytes: 2.5 * MIB, maxAgeMs: null }, logger }).prune();
    expect(pruned.map((entry) => [entry.key, entry.reason])).toEqual([
      [oldest, 'size'],
      [older, 'size'],
    ]);
    expect(published(dir)).toEqual([recent, newest].sort());
    expect(readdirSync(dir).filter((name) => name.startsWith(oldest) || name.startsWith(older) || name.startsWith('.'))).toEqual([]);
    expect(logger.infos).toHaveLength(2);
    expect(logger.infos[0]).toMatch(new RegExp(`pruned the virtualenv ${oldest}: 1\\.\\d MiB, least recently used \\(9\\.0 days ago\\)`));
  });

  it('deletes every venv unused for longer than the age limit', async () => {
    const dir = tempDir();
    const stale = makeVenv(dir, 40);
    const fresh = makeVenv(dir, 10);
    const logger = recordingLogger();
    const pruned = await new VenvPruner({ dir, limits: { maxBytes: null, maxAgeMs: 30 * DAY }, logger }).prune();
    expect(pruned.map((entry) => [entry.key, entry.reason])).toEqual([[stale, 'age']]);
    expect(published(dir)).toEqual([fresh]);
    expect(logger.infos[0]).toContain('unused for 40.0 days (limit 30)');
  });

  it('never deletes a venv in use: held by a run, serving a zygote, being built, or marked by another process just now', async () => {
    const dir = tempDir();
    const python = await new InterpreterCache('python3').get();
    const cache = new VenvCache({ dir, interpreter: python, pipArgs: [], environment: () => ({}), killGraceMs: 1000, maxLineBytes: 16384 });
    // A run holds the venv of ['six'] (already there: VenvCache finds it and builds nothing).
    const held = requirementsHash(['six'], python);
    const heldTarget = path.join(dir, `${held}-00000000`);
    execFileSync('python3', ['-m', 'venv', '--without-pip', heldTarget]);
    symlinkSync(path.basename(heldTarget), path.join(dir, held));
    const lease = await cache.acquire(['six'], new AbortController().signal, () => undefined);
    const old = new Date(Date.now() - 100 * DAY);
    utimesSync(path.join(heldTarget, '.tensorify-last-used'), old, old);

    const zygote = makeVenv(dir, 100);
    const building = makeVenv(dir, 100);
    writeFileSync(path.join(dir, `${building}.lock`), JSON.stringify({ pid: process.pid, host: 'elsewhere' }));
    const otherProcess = makeVenv(dir, 100);
    const now = new Date();
    utimesSync(
      path.join(
        dir,
        readdirSync(dir).find((name) => name.startsWith(`${otherProcess}-`))!,
        '.tensorify-last-used',
      ),
      now,
      now,
    );
    const idle = makeVenv(dir, 100);

    const pruner = new VenvPruner({ dir, limits: { maxBytes: 1, maxAgeMs: DAY }, logger: silentLogger, busy: () => [zygote, null] });
    const pruned = await pruner.prune();
    expect(pruned.map((entry) => entry.key)).toEqual([idle]);
    expect(published(dir)).toEqual([held, zygote, building, otherProcess].sort());

    lease.release();
    // The lease's heartbeat marked it every 5 s while held (a slow machine gets there): old again, as after a day unused.
    utimesSync(path.join(heldTarget, '.tensorify-last-used'), old, old);
    const later = await pruner.prune();
    expect(later.map((entry) => entry.key)).toEqual([held]);
  });

  it('removes venv directories left unpublished by a build or a pruning that crashed, not one being built', async () => {
    const dir = tempDir();
    const kept = makeVenv(dir, 0);
    const crashed = `${randomBytes(16).toString('hex')}-0badf00d`;
    execFileSync('python3', ['-m', 'venv', '--without-pip', path.join(dir, crashed)]);
    const buildingHash = randomBytes(16).toString('hex');
    execFileSync('python3', ['-m', 'venv', '--without-pip', path.join(dir, `${buildingHash}-12345678`)]);
    writeFileSync(path.join(dir, `${buildingHash}.lock`), JSON.stringify({ pid: process.pid, host: 'elsewhere' }));
    await new VenvPruner({ dir, limits: { maxBytes: null, maxAgeMs: 30 * DAY }, logger: silentLogger }).prune();
    const left = readdirSync(dir).sort();
    expect(left).toContain(kept);
    expect(left).toContain(`${buildingHash}-12345678`);
    expect(left).not.toContain(crashed);
  });

  it('a run needing a venv while it is pruned still runs, with the venv kept or built again', async () => {
    const { executor, dataDir } = await makeExecutor({ pipArgs: PIP_ARGS, warm: { enabled: false }, cache: { maxSizeGb: null, maxAgeDays: null } });
    const job = testJob({ 'main.py': 'import six\nprint("six", six.__version__)', 'requirements.txt': 'six\n' });
    expect((await executor.run(job, createTestContext())).exitCode).toBe(0);
    const venvDir = path.join(dataDir, 'venvs');
    const hash = requirementsHash(normaliseRequirements('six'), await new InterpreterCache('python3').get());
    const pruner = new VenvPruner({ dir: venvDir, limits: { maxBytes: null, maxAgeMs: DAY }, logger: silentLogger });
    const makeOld = (): void => {
      const target = readdirSync(venvDir).find((name) => name.startsWith(`${hash}-`))!;
      const old = new Date(Date.now() - 2 * DAY);
      utimesSync(path.join(venvDir, target, '.tensorify-last-used'), old, old);
    };
    const runOnce = async (context: TestContext) => {
      const result = await executor.run(job, context);
      return { exitCode: result.exitCode, stdout: context.of('stdout') };
    };
    const worked = { exitCode: 0, stdout: ['six 1.17.0'] };

    // Started with the pruning: the run marks the venv before the pruner decides, so it is kept.
    makeOld();
    const together = createTestContext();
    const [kept, first] = await Promise.all([pruner.prune(), runOnce(together)]);
    expect(first).toEqual(worked);
    expect(kept).toEqual([]);

    // Started the moment the pruner unpublishes the venv: the run finds none, waits for the pruner's lock and builds it again.
    makeOld();
    const during = createTestContext();
    let running: Promise<unknown> | undefined;
    const watcher = watch(venvDir, (_event, name) => {
      if (!running && name?.endsWith('.pruning')) running = runOnce(during);
    });
    try {
      const pruned = await pruner.prune();
      expect(pruned.map((entry) => entry.key)).toEqual([hash]);
      expect(running).toBeDefined();
      expect(await running).toEqual(worked);
    } finally {
      watcher.close();
    }
    expect(during.of('system').some((line) => line.startsWith('creating the virtualenv'))).toBe(true);
    expect(published(venvDir)).toEqual([hash]);
    await executor.close?.();
  }, 300_000); // pip installs on a busy machine // up to five pip installs on a busy machine
});

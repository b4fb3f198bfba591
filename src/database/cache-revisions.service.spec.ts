import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { CACHE_NAMES, CacheRevisions } from './cache-revisions.service';
import { buildDataSourceOptions } from './data-source-options';
import { runMigrationsExclusively } from './migrate';

/** An empty database for one case, and what removes it once its connections are closed. */
export type ScratchDatabase = () => Promise<{ database: AppConfig['database']; remove: () => unknown }>;

/**
 * What CacheRevisions must do for two processes on one database, each with its own connection:
 * run against a SQLite file here, against PostgreSQL in test/integration/cache-revisions.int-spec.ts.
 * Each process counts how often its `workflows` cache is dropped; `sync` is its poll.
 */
export function cacheRevisionsCases(scratch: ScratchDatabase): void {
  const name = CACHE_NAMES.workflows;
  let connections: DataSource[];
  let remove: () => unknown;
  let a: { revisions: CacheRevisions; drops: number };
  let b: { revisions: CacheRevisions; drops: number };

  async function startProcess(database: AppConfig['database']) {
    const dataSource = await new DataSource(buildDataSourceOptions({ database } as AppConfig)).initialize();
    connections.push(dataSource);
    await runMigrationsExclusively(dataSource);
    const revisions = new CacheRevisions(dataSource);
    const counted = { revisions, drops: 0 };
    revisions.onChange(name, () => (counted.drops += 1));
    await revisions.onModuleInit();
    return counted;
  }

  beforeEach(async () => {
    connections = [];
    const made = await scratch();
    remove = made.remove;
    a = await startProcess(made.database);
    b = await startProcess(made.database);
  });

  afterEach(async () => {
    for (const { revisions } of [a, b]) revisions?.onModuleDestroy();
    for (const dataSource of connections) await dataSource.destroy();
    await remove();
  });

  it('drops a cache at once on its own write, and not again at its next poll', async () => {
    await a.revisions.write(name, () => Promise.resolve());
    expect(a.drops).toBe(1);
    await a.revisions.sync();
    await a.revisions.sync();
    expect(a.drops).toBe(1);
  });

  it("drops a cache at the first poll after another process's write, once", async () => {
    await b.revisions.write(name, () => Promise.resolve());
    expect(a.drops).toBe(0);
    await a.revisions.sync();
    expect(a.drops).toBe(1);
    await a.revisions.sync();
    expect(a.drops).toBe(1);
  });

  it("drops a cache at the poll after another process's write, whatever its own writes around it", async () => {
    await a.revisions.write(name, () => Promise.resolve());
    await b.revisions.write(name, () => Promise.resolve());
    await a.revisions.write(name, () => Promise.resolve());
    expect(a.drops).toBe(2);
    await a.revisions.sync();
    expect(a.drops).toBe(3);
  });

  it("notices another process's write among its own writes and polls, asked all at once", async () => {
    await Promise.all([
      a.revisions.write(name, () => Promise.resolve()),
      a.revisions.sync(),
      a.revisions.write(name, () => Promise.resolve()),
      a.revisions.sync(),
    ]);
    const before = a.drops;
    await b.revisions.write(name, () => Promise.resolve());
    await Promise.all([a.revisions.write(name, () => Promise.resolve()), a.revisions.sync()]);
    await a.revisions.sync();
    // Its own write drops it once; another process's write at least once more, at a poll.
    expect(a.drops).toBeGreaterThanOrEqual(before + 2);
  });
}

describe(`${CacheRevisions.name} (SQLite file)`, () => {
  cacheRevisionsCases(() => {
    const dir = mkdtempSync(join(tmpdir(), 'tensorify-revisions-'));
    return Promise.resolve({ database: { type: 'sqlite', path: join(dir, 'tensorify.db') }, remove: () => rmSync(dir, { recursive: true, force: true }) });
  });
});

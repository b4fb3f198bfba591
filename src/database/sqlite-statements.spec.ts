import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'sqlite3';
import { DataSource, QueryFailedError } from 'typeorm';
import type { AbstractSqliteDriver } from 'typeorm/driver/sqlite-abstract/AbstractSqliteDriver';
import { ForegroundActivity } from '../common/foreground-activity';
import type { AppConfig } from '../config/config';
import { buildDataSourceOptions } from './data-source-options';
import { isUniqueViolation } from './query-helpers';
import { runKeptStatement } from './sqlite-statements';

describe(runKeptStatement.name, () => {
  let dataDir: string;
  let dataSource: DataSource;
  let activity: ForegroundActivity;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tensorify-kept-statements-'));
    activity = new ForegroundActivity();
    dataSource = await new DataSource({
      ...buildDataSourceOptions({ database: { type: 'sqlite', path: join(dataDir, 'db.sqlite') } } as AppConfig),
      logger: activity,
    }).initialize();
    await dataSource.query('CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER)');
  });

  afterEach(async () => {
    if (dataSource.isInitialized) await dataSource.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const items = () => dataSource.query<{ id: string; n: number | null }[]>('SELECT id, n FROM items ORDER BY id');
  const insert = 'INSERT INTO items (id, n) VALUES (?1, ?2), (?3, ?2)';

  it('runs a write once prepared, again and again, with each run its values; the logger hears each run', async () => {
    const prepare = jest.spyOn((dataSource.driver as AbstractSqliteDriver).databaseConnection as Database, 'prepare');
    const before = performance.now();
    await runKeptStatement(dataSource, insert, ['a', 1, 'b']);
    expect(activity.querySince(before)).toBe(true);
    await runKeptStatement(dataSource, insert, ['c', 2, 'd']);
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(await items()).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 1 },
      { id: 'c', n: 2 },
      { id: 'd', n: 2 },
    ]);
  });

  it("fails as TypeORM's query does (QueryFailedError with the driver's error), writes nothing, and stays usable", async () => {
    await runKeptStatement(dataSource, insert, ['a', 1, 'b']);
    const duplicate = await runKeptStatement(dataSource, insert, ['c', 2, 'a']).catch((error: unknown) => error);
    expect(duplicate).toBeInstanceOf(QueryFailedError);
    expect(isUniqueViolation(duplicate)).toBe(true);
    await runKeptStatement(dataSource, insert, ['c', 2, 'd']);
    expect((await items()).map((row) => row.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('fails a text that does not prepare, and prepares it again on the next run', async () => {
    const sql = 'INSERT INTO later (id) VALUES (?1)';
    const missing = await runKeptStatement(dataSource, sql, ['a']).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(QueryFailedError);
    expect((missing as QueryFailedError).message).toMatch(/no such table: later/);
    await dataSource.query('CREATE TABLE later (id TEXT)');
    await runKeptStatement(dataSource, sql, ['a']);
    expect(await dataSource.query('SELECT id FROM later')).toEqual([{ id: 'a' }]);
  });

  it('writes inside the transaction open on the connection: rolled back with it', async () => {
    const runner = dataSource.createQueryRunner();
    await runner.startTransaction();
    await runKeptStatement(dataSource, insert, ['a', 1, 'b']);
    await runner.rollbackTransaction();
    expect(await items()).toEqual([]);
  });

  it('lets the data source close with statements kept, dropped ones included; a run after that fails', async () => {
    // More texts than are kept: the oldest are dropped (and finalized) on the way.
    for (let n = 0; n < 70; n++) await runKeptStatement(dataSource, `INSERT INTO items (id, n) VALUES (?1, ${n})`, [`i${n}`]);
    const running = runKeptStatement(dataSource, insert, ['a', 1, 'b']);
    await dataSource.destroy();
    await running;
    await expect(runKeptStatement(dataSource, insert, ['c', 2, 'd'])).rejects.toThrow();
  });
});

import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';

/** SQLite's `auto_vacuum` value for INCREMENTAL. */
const INCREMENTAL = 2;

async function autoVacuumMode(dataSource: DataSource): Promise<number> {
  const [row] = await dataSource.query<{ auto_vacuum: number }[]>('PRAGMA auto_vacuum');
  return Number(row?.auto_vacuum ?? 0);
}

/**
 * Makes the SQLite file able to give pages back (`PRAGMA incremental_vacuum` after pruning). A new
 * file takes `auto_vacuum = INCREMENTAL` before its first table; a file made before this setting
 * existed needs one full VACUUM to take it (a rewrite of the file, once, at boot). Run outside any
 * transaction: neither statement works inside one. No-op on PostgreSQL, where autovacuum reclaims.
 */
export async function enableIncrementalVacuum(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type !== 'sqlite') return;
  if ((await autoVacuumMode(dataSource)) === INCREMENTAL) return;
  await dataSource.query('PRAGMA auto_vacuum = INCREMENTAL');
  if ((await autoVacuumMode(dataSource)) === INCREMENTAL) return;
  const log = new Logger('Database');
  log.log('Rewriting the SQLite file once (VACUUM) so that it can give back the space of pruned executions');
  await dataSource.query('VACUUM');
}

/** Gives up to `pages` free pages of the SQLite file back to the file system (all of them when omitted); no-op elsewhere. */
export async function releaseFreePages(dataSource: DataSource, pages?: number): Promise<void> {
  if (dataSource.options.type !== 'sqlite') return;
  await dataSource.query(pages === undefined ? 'PRAGMA incremental_vacuum' : `PRAGMA incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
}

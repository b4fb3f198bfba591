import { DataSource } from 'typeorm';

/** Arbitrary, fixed key of the PostgreSQL advisory lock that serialises migrations across instances. */
const MIGRATION_LOCK_KEY = 7_204_118_356;

/**
 * Runs pending migrations. On PostgreSQL several instances may start at once against one
 * database, so the migrations run under a session advisory lock: the first instance migrates,
 * the others wait and then find nothing to do.
 */
export async function runMigrationsExclusively(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type !== 'postgres') {
    await dataSource.runMigrations({ transaction: 'each' });
    return;
  }
  const lockHolder = dataSource.createQueryRunner();
  try {
    await lockHolder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await lockHolder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lockHolder.release();
  }
}

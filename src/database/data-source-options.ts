import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sqlite3 from 'sqlite3';
import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/config';
import { InitialSchema1764300000000 } from './migrations/1764300000000-initial-schema';
import { CacheRevisions1764300000001 } from './migrations/1764300000001-cache-revisions';
import { Executions1764300000002 } from './migrations/1764300000002-executions';
import { ExecutionHeartbeats1764300000003 } from './migrations/1764300000003-execution-heartbeats';
import { ExecutionTriggers1764300000004 } from './migrations/1764300000004-execution-triggers';
import { Webhooks1764300000005 } from './migrations/1764300000005-webhooks';
import { Schedules1764300000006 } from './migrations/1764300000006-schedules';
import { ExecutionAttempts1764300000007 } from './migrations/1764300000007-execution-attempts';
import { CompletionCallbacks1764300000008 } from './migrations/1764300000008-completion-callbacks';
import { Retention1764300000009 } from './migrations/1764300000009-retention';
import { Programs1764300000010 } from './migrations/1764300000010-programs';

/**
 * TypeORM turns on sqlite3's verbose mode, which formats every argument of every database call
 * with util.inspect to build long stack traces: a third of the CPU of a simple request. The
 * driver is handed over with `verbose()` returning the module unchanged.
 */
const sqlite3WithoutTracing = { verbose: () => sqlite3 };

export const MIGRATIONS = [
  InitialSchema1764300000000,
  CacheRevisions1764300000001,
  Executions1764300000002,
  ExecutionHeartbeats1764300000003,
  ExecutionTriggers1764300000004,
  Webhooks1764300000005,
  Schedules1764300000006,
  ExecutionAttempts1764300000007,
  CompletionCallbacks1764300000008,
  Retention1764300000009,
  Programs1764300000010,
];

/**
 * One place that turns the config into TypeORM options; the server and the CLI both use it.
 * Migrations are run by `runMigrationsExclusively` once the connection is up. The entities are not
 * listed here: each module registers its own (`TypeOrmModule.forFeature`) and DatabaseModule loads
 * them (`autoLoadEntities`), so the database layer knows no module above it.
 */
export function buildDataSourceOptions(config: AppConfig): DataSourceOptions {
  const common = {
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: false,
    logging: false,
  };
  if (config.database.type === 'postgres') {
    return { ...common, type: 'postgres', url: config.database.url, extra: { max: 10, connectionTimeoutMillis: 5000 } };
  }
  mkdirSync(dirname(config.database.path), { recursive: true });
  return { ...common, type: 'sqlite', driver: sqlite3WithoutTracing, database: config.database.path, enableWAL: true, busyTimeout: 5000 };
}

import { DataSource } from 'typeorm';
import type { AppConfig } from '../../src/config/config';
import { buildDataSourceOptions } from '../../src/database/data-source-options';
import { runMigrationsExclusively } from '../../src/database/migrate';
import { ExecutionsRepository } from '../../src/executions/executions.repository';
import { executionsRepositoryCases } from '../../src/executions/executions.repository.spec';
import { createScratchDatabase } from '../support/postgres';

const ADMIN_URL = process.env.TENSORIFY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

describe(`${ExecutionsRepository.name} (real PostgreSQL)`, () => {
  // The same cases as on a SQLite file, each on a fresh scratch database.
  executionsRepositoryCases(async () => {
    const database = await createScratchDatabase(ADMIN_URL);
    const config = { database: { type: 'postgres', url: database.url } } as AppConfig;
    const dataSource = await new DataSource(buildDataSourceOptions(config)).initialize();
    await runMigrationsExclusively(dataSource);
    return {
      dataSource,
      close: async () => {
        await dataSource.destroy();
        await database.drop();
      },
    };
  });
});

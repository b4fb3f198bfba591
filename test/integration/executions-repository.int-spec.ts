import { ExecutionsRepository } from '../../src/executions/executions.repository';
import { executionsRepositoryCases, openMigrated } from '../../src/executions/executions.repository.spec';
import { createScratchDatabase } from '../support/postgres';

const ADMIN_URL = process.env.TENSORIFY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

describe(`${ExecutionsRepository.name} (real PostgreSQL)`, () => {
  // The same cases as on a SQLite file, each on a fresh scratch database.
  executionsRepositoryCases(async () => {
    const database = await createScratchDatabase(ADMIN_URL);
    return openMigrated({ type: 'postgres', url: database.url }, database.drop);
  });
});

import { CacheRevisions } from '../../src/database/cache-revisions.service';
import { cacheRevisionsCases } from '../../src/database/cache-revisions.service.spec';
import { createScratchDatabase } from '../support/postgres';

const ADMIN_URL = process.env.TENSORIFY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

describe(`${CacheRevisions.name} (real PostgreSQL)`, () => {
  // The same cases as on a SQLite file, each on a fresh scratch database (a pool of connections per process).
  cacheRevisionsCases(async () => {
    const database = await createScratchDatabase(ADMIN_URL);
    return { database: { type: 'postgres', url: database.url }, remove: database.drop };
  });
});

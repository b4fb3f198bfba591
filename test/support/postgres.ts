import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * When set (by the `e2e-postgres` Jest project, or by hand), every test app gets a fresh
 * PostgreSQL database on this server instead of a SQLite file: the same e2e suite then runs
 * against PostgreSQL.
 */
export const POSTGRES_ADMIN_URL_VARIABLE = 'TENSORIFY_TEST_POSTGRES_URL';

export function postgresAdminUrl(): string | undefined {
  return process.env[POSTGRES_ADMIN_URL_VARIABLE] || undefined;
}

async function withAdmin<T>(adminUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database and returns its URL and a function that drops it. */
export async function createScratchDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tensorify_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

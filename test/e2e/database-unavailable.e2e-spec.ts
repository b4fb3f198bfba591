import { Client } from 'pg';
import { Database } from 'sqlite3';
import { startTestApp, TestApp } from '../support/test-app';
import { MINIMAL_WORKFLOW } from '../support/workflows';

type Refused = Awaited<ReturnType<TestApp['http']['post']>>;

/**
 * Sends a write while the database cannot take it: SQLite is write-locked by another connection
 * until the busy timeout gives up; on PostgreSQL the app's connection is killed while it waits
 * on a table lock.
 */
async function writeWhileUnavailable(t: TestApp, send: () => Promise<Refused>): Promise<Refused> {
  const database = t.config.database;
  if (database.type === 'sqlite') {
    const holder = new Database(database.path);
    const run = (sql: string) => new Promise<void>((resolve, reject) => holder.exec(sql, (error) => (error ? reject(error) : resolve())));
    await run("BEGIN EXCLUSIVE; UPDATE cache_revisions SET revision = revision WHERE name = 'auth'");
    try {
      return await send();
    } finally {
      await run('ROLLBACK');
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  }
  const admin = new Client({ connectionString: database.url });
  await admin.connect();
  try {
    await admin.query('BEGIN');
    await admin.query('LOCK TABLE workflows IN ACCESS EXCLUSIVE MODE');
    const pending = send();
    for (let waited = 0; waited < 5000; waited += 50) {
      const { rowCount } = await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`,
      );
      if (rowCount) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return await pending;
  } finally {
    await admin.query('ROLLBACK').catch(() => undefined);
    await admin.end();
  }
}

describe('When the database cannot serve a request', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers 503 NOT_READY with Retry-After, not a 500, and works again once it is back', async () => {
    const auth = t.bearer(t.adminKey);
    const refused = await writeWhileUnavailable(t, async () => t.http.post('/v1/workflows').set('Authorization', auth).send(MINIMAL_WORKFLOW));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'NOT_READY', requestId: refused.headers['x-request-id'] });
    expect(refused.body.error.message).not.toMatch(/SQLITE|terminat|ECONN|at /);
    expect(refused.headers['retry-after']).toBe('5');
    await t.http.post('/v1/workflows').set('Authorization', auth).send(MINIMAL_WORKFLOW).expect(201);
  });
});

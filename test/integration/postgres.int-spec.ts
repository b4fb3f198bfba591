import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createApp, initApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/config';
import { createScratchDatabase } from '../support/postgres';
import { runCli, startServerProcess } from '../support/server-process';

const ADMIN_URL = process.env.TENSORIFY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

async function rows<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('PostgreSQL as the database', () => {
  let database: { url: string; drop: () => Promise<void> };
  let dataDir: string;
  beforeEach(async () => {
    database = await createScratchDatabase(ADMIN_URL);
    dataDir = mkdtempSync(join(tmpdir(), 'tensorify-pg-'));
  });
  afterEach(async () => {
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrates an empty database to the full schema', async () => {
    const server = await startServerProcess({ TENSORIFY_DATA_DIR: dataDir, TENSORIFY_DATABASE_URL: database.url });
    await server.stop();
    const tables = await rows<{ table_name: string }>(
      database.url,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      'api_keys',
      'cache_revisions',
      'callback_attempts',
      'callback_deliveries',
      'execution_attempts',
      'execution_logs',
      'executions',
      'hooks',
      'migrations',
      'programs',
      'schedules',
      'workflows',
      'workspace_signing_secrets',
      'workspaces',
    ]);
    expect(server.stderr()).toContain('Database    PostgreSQL');
  });

  it('bootstraps exactly one default workspace when two instances start on an empty database at once', async () => {
    const config = loadConfig({ TENSORIFY_DATA_DIR: dataDir, TENSORIFY_DATABASE_URL: database.url, TENSORIFY_LOG_LEVEL: 'silent' });
    const apps = await Promise.all([1, 2].map(() => createApp({ config, databaseRetryAttempts: 0 }).then(initApp)));
    try {
      expect(await rows(database.url, 'SELECT name FROM workspaces')).toEqual([{ name: 'default' }]);
      expect(await rows(database.url, 'SELECT name FROM api_keys')).toEqual([{ name: 'bootstrap admin' }]);
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });

  it('serves the CLI and the HTTP API from the same database', async () => {
    const env = { TENSORIFY_DATA_DIR: dataDir, TENSORIFY_DATABASE_URL: database.url };
    const created = runCli(['keys', 'create', '--name', 'pg', '--json'], env);
    expect(created.code).toBe(0);
    const { key } = JSON.parse(created.stdout);
    const server = await startServerProcess(env);
    try {
      const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
      const body = JSON.stringify({ name: 'Hello ✓ 你好', nodes: [{ id: 'trigger', type: 'manual' }], edges: [] });
      const post = await fetch(`${server.baseUrl}/v1/workflows`, { method: 'POST', headers, body });
      expect(post.status).toBe(201);
      const list = (await (await fetch(`${server.baseUrl}/v1/workflows`, { headers })).json()) as { workflows: { name: string }[] };
      expect(list.workflows.map((w: { name: string }) => w.name)).toEqual(['Hello ✓ 你好']);
    } finally {
      await server.stop();
    }
  });

  it('fails at boot, naming the database, when PostgreSQL cannot be reached', () => {
    const result = runCli(['keys', 'list'], { TENSORIFY_DATA_DIR: dataDir, TENSORIFY_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/ECONNREFUSED|connect/);
  });
});

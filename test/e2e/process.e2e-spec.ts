import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from 'sqlite3';
import { CACHE_SYNC_INTERVAL_MS } from '../../src/database/cache-revisions.service';
import { runCli, startServerProcess } from '../support/server-process';
import { waitFor } from '../support/wait-for';

function query<T>(file: string, sql: string): Promise<T[]> {
  const db = new Database(file);
  return new Promise<T[]>((resolve, reject) => db.all(sql, (error, rows) => (error ? reject(error) : resolve(rows as T[])))).finally(
    () => new Promise<void>((resolve) => db.close(() => resolve())),
  );
}

const KEY_PATTERN = /tfy_[0-9A-Za-z]{32,}/g;

describe('The tensorify-server process', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tensorify-process-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses to boot on bad settings, naming every bad variable, with a non-zero exit code', () => {
    const result = runCli(['start'], {
      TENSORIFY_DATA_DIR: dataDir,
      TENSORIFY_PORT: 'eighty',
      TENSORIFY_LOG_LEVEL: 'chatty',
      TENSORIFY_DATABASE_URL: 'mysql://db/x',
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toMatch(/TENSORIFY_PORT: must be an integer/);
    expect(result.stderr).toMatch(/TENSORIFY_LOG_LEVEL: must be one of/);
    expect(result.stderr).toMatch(/TENSORIFY_DATABASE_URL: must start with postgres/);
  });

  it('on first start creates the default workspace and prints a generated admin key once, never in the logs', async () => {
    const server = await startServerProcess({ TENSORIFY_DATA_DIR: dataDir });
    try {
      expect(server.stderr()).toMatch(/Swagger UI\s+http:\/\/127\.0\.0\.1:\d+\/docs/);
      const keys = server.stderr().match(KEY_PATTERN) ?? [];
      expect(new Set(keys).size).toBe(1);
      const me = await fetch(`${server.baseUrl}/v1/me`, { headers: { Authorization: `Bearer ${keys[0]}` } });
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ workspace: { name: 'default', plan: 'enterprise' }, apiKey: { scopes: ['admin'] } });
      expect(server.stdout()).not.toMatch(KEY_PATTERN);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const again = await startServerProcess({ TENSORIFY_DATA_DIR: dataDir });
    await again.stop();
    expect(again.stderr()).not.toMatch(KEY_PATTERN);
    expect(await query(join(dataDir, 'tensorify.db'), 'SELECT id FROM workspaces')).toHaveLength(1);
  });

  it('runs its migrations on an empty SQLite file in WAL mode', async () => {
    const server = await startServerProcess({ TENSORIFY_DATA_DIR: dataDir });
    await server.stop();
    const file = join(dataDir, 'tensorify.db');
    const tables = await query<{ name: string }>(file, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['api_keys', 'migrations', 'workflows', 'workspaces']));
    expect(await query(file, 'SELECT name FROM migrations ORDER BY id')).toEqual([
      { name: 'InitialSchema1764300000000' },
      { name: 'CacheRevisions1764300000001' },
      { name: 'Executions1764300000002' },
      { name: 'ExecutionHeartbeats1764300000003' },
      { name: 'ExecutionTriggers1764300000004' },
      { name: 'Webhooks1764300000005' },
      { name: 'Schedules1764300000006' },
      { name: 'ExecutionAttempts1764300000007' },
      { name: 'CompletionCallbacks1764300000008' },
      { name: 'Retention1764300000009' },
      { name: 'Programs1764300000010' },
    ]);
    expect(await query(file, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
  });

  it('never writes a key secret to its logs, even at trace level', async () => {
    const secret = 'tfy_LogProbeKey0123456789abcdefghijklmnopqrstuvw';
    const server = await startServerProcess({ TENSORIFY_DATA_DIR: dataDir, TENSORIFY_BOOTSTRAP_API_KEY: secret, TENSORIFY_LOG_LEVEL: 'trace' });
    const wrong = 'tfy_WrongKey0123456789abcdefghijklmnopqrstuvwxyz';
    await fetch(`${server.baseUrl}/v1/me`, { headers: { Authorization: `Bearer ${secret}` } });
    await fetch(`${server.baseUrl}/v1/me`, { headers: { Authorization: `Bearer ${wrong}` } });
    await fetch(`${server.baseUrl}/v1/me?access_token=${secret}`);
    await fetch(`${server.baseUrl}/v1/no-such-route/${secret}`, { headers: { Authorization: `Bearer ${secret}` } });
    const created = await fetch(`${server.baseUrl}/v1/api-keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'probe' }),
    });
    const { key: minted } = (await created.json()) as { key: string };
    expect(await server.stop()).toBe(0);
    const logs = server.stdout();
    expect(logs).toContain('request completed');
    for (const leaked of [secret, wrong, minted]) expect(logs).not.toContain(leaked.slice(4));
  });

  it("writes a quiet server's request line at once, without waiting for more lines to fill a buffer", async () => {
    const server = await startServerProcess({ TENSORIFY_DATA_DIR: dataDir });
    try {
      const answer = await fetch(`${server.baseUrl}/v1/workflows`);
      const requestId = answer.headers.get('x-request-id')!;
      expect(requestId).toMatch(/^req_/);
      // No more requests: the line must come out on its own, while the server runs.
      const stdout = await waitFor(
        () => server.stdout(),
        (text) => text.includes(requestId),
        { what: "the request's log line" },
      );
      const line = stdout.split('\n').find((text) => text.includes(requestId));
      expect(line && JSON.parse(line)).toMatchObject({ requestId, msg: 'request completed', statusCode: 401 });
    } finally {
      await server.stop();
    }
  });

  it('serves /health within seconds of the process starting', async () => {
    const started = Date.now();
    const server = await startServerProcess({ TENSORIFY_DATA_DIR: dataDir });
    try {
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await server.stop();
    }
  });

  describe('CLI', () => {
    const env = () => ({ TENSORIFY_DATA_DIR: dataDir });

    it('prints help and version', () => {
      const help = runCli(['--help'], env());
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/keys/);
      expect(help.stdout).toMatch(/workspaces/);
      expect(runCli(['--version'], env()).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    });

    it('creates and lists workspaces and keys without the HTTP server running', () => {
      const workspace = runCli(['workspaces', 'create', '--name', 'research', '--plan', 'pro', '--json'], env());
      expect(workspace.code).toBe(0);
      const created = JSON.parse(workspace.stdout);
      expect(created).toMatchObject({ name: 'research', plan: 'pro', rateLimitPerMinute: 300 });
      expect(created.id).toMatch(/^ws_/);

      const key = runCli(['keys', 'create', '--name', 'ci', '--workspace', 'research', '--scopes', 'workflows:read', '--json'], env());
      expect(key.code).toBe(0);
      const apiKey = JSON.parse(key.stdout);
      expect(apiKey).toMatchObject({ workspaceId: created.id, scopes: ['workflows:read'], name: 'ci' });
      expect(apiKey.key).toMatch(/^tfy_[0-9A-Za-z]{32,}$/);

      const list = runCli(['keys', 'list', '--workspace', created.id, '--json'], env());
      expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: apiKey.id, prefix: apiKey.prefix })]);
      expect(list.stdout).not.toContain(apiKey.key);

      const workspaces = runCli(['workspaces', 'list', '--json'], env());
      expect(
        JSON.parse(workspaces.stdout)
          .map((w: { name: string }) => w.name)
          .sort(),
      ).toEqual(['default', 'research']);
    });

    it('revokes a key so that a running server refuses it within its cache sync interval', async () => {
      const server = await startServerProcess(env());
      try {
        const { key, id } = JSON.parse(runCli(['keys', 'create', '--name', 'temp', '--json'], env()).stdout);
        const headers = { Authorization: `Bearer ${key}` };
        expect((await fetch(`${server.baseUrl}/v1/workflows`, { headers })).status).toBe(200);
        const revoke = runCli(['keys', 'revoke', id], env());
        expect(revoke.code).toBe(0);
        const revokedAt = Date.now();
        let refused = await fetch(`${server.baseUrl}/v1/workflows`, { headers });
        while (refused.status === 200 && Date.now() - revokedAt < CACHE_SYNC_INTERVAL_MS + 500) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          refused = await fetch(`${server.baseUrl}/v1/workflows`, { headers });
        }
        expect(refused.status).toBe(401);
        expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      } finally {
        await server.stop();
      }
    });

    it('explains a mistake in one line with exit code 2', () => {
      const result = runCli(['keys', 'create', '--name', 'x', '--scopes', 'workflows:read,launch-missiles'], env());
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/unknown scope\(s\) launch-missiles/);
      const enterpriseOnly = runCli(['workspaces', 'create', '--name', 'y', '--plan', 'free', '--rate-limit', '5'], env());
      expect(enterpriseOnly.code).toBe(2);
      expect(enterpriseOnly.stderr).toMatch(/Only enterprise workspaces/);
    });

    it('reports an unknown key id as not found', () => {
      const result = runCli(['keys', 'revoke', 'key_doesnotexist'], env());
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/API key key_doesnotexist not found/);
    });
  });
});

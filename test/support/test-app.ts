import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { createApp, initApp } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/config/config';
import type { Scope } from '../../src/auth/scopes';
import { FakeClock } from './fake-clock';
import { checkResponsesAgainstContract } from './openapi-responses';
import { createScratchDatabase, postgresAdminUrl } from './postgres';
import type { DestinationStream } from 'pino';

/** The admin key every test app bootstraps with (TENSORIFY_BOOTSTRAP_API_KEY). */
export const TEST_ADMIN_KEY = 'tfy_TestAdminKey0123456789abcdefghijklmnopqrstuv';

/** `Authorization` header value of the admin key. */
export const ADMIN_AUTH = `Bearer ${TEST_ADMIN_KEY}`;

export interface TestApp {
  app: NestFastifyApplication;
  http: TestAgent;
  config: AppConfig;
  clock: FakeClock;
  dataDir: string;
  adminKey: string;
  /** `Authorization` header value for a key. */
  bearer(key: string): string;
  /** Creates a workspace through the API and returns its id. */
  createWorkspace(plan?: 'free' | 'pro' | 'enterprise', rateLimitPerMinute?: number): Promise<string>;
  /** Creates a key through the API and returns its secret and id. */
  createKey(workspaceId: string, scopes?: Scope[]): Promise<{ key: string; id: string }>;
  /** Listens on a free loopback port (once) and returns the base URL, for clients that need a real socket. */
  listen(): Promise<string>;
  /** Stops the app and boots a new one on the same data directory and database (a restart). */
  restart(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

type TestEnv = Record<string, string>;

/**
 * The usual e2e setup in one line: a test app started before the tests of the enclosing `describe`
 * (beforeAll) and closed after them (afterAll). The object returned stands for that app in tests
 * and later hooks (a `restart()` included); read before the app has started, it throws. `env` may
 * be a function, called when the app starts, for settings that an earlier beforeAll prepares.
 */
export function useTestApp(env: TestEnv | (() => TestEnv) = {}): TestApp {
  let started: TestApp | undefined;
  beforeAll(async () => {
    started = await startTestApp(typeof env === 'function' ? env() : env);
  });
  afterAll(async () => {
    await started?.close();
  });
  return new Proxy({} as TestApp, {
    get(_, property) {
      if (!started) throw new Error(`useTestApp(): the app starts in beforeAll; read .${String(property)} inside a test or a hook`);
      const value: unknown = Reflect.get(started, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(started) : value;
    },
  });
}

/**
 * Boots the real application (every module, guard, pipe and filter) on a fresh SQLite file in a
 * temporary directory — or a fresh PostgreSQL database when TENSORIFY_TEST_POSTGRES_URL is set —
 * with a fake clock and no connection retries. Every answer is checked against the OpenAPI document
 * (test/support/openapi-responses.ts).
 */
export async function startTestApp(env: TestEnv = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-e2e-'));
  const adminUrl = postgresAdminUrl();
  const scratch = adminUrl && !env.TENSORIFY_DATABASE_URL ? await createScratchDatabase(adminUrl) : undefined;
  const baseEnv = {
    TENSORIFY_DATA_DIR: dataDir,
    TENSORIFY_LOG_LEVEL: 'silent',
    TENSORIFY_BOOTSTRAP_API_KEY: TEST_ADMIN_KEY,
    ...(scratch ? { TENSORIFY_DATABASE_URL: scratch.url } : {}),
  };
  const config = loadConfig({ ...baseEnv, ...env });
  const clock = new FakeClock();
  const app = await initApp(checkResponsesAgainstContract(await createApp({ config, clock, databaseRetryAttempts: 0 })));
  const http = request(app.getHttpServer());
  const bearer = (key: string) => `Bearer ${key}`;
  let workspaceCount = 0;

  const testApp: TestApp = {
    app,
    http,
    config,
    clock,
    dataDir,
    adminKey: TEST_ADMIN_KEY,
    bearer,
    async createWorkspace(plan = 'free', rateLimitPerMinute) {
      const res = await testApp.http
        .post('/v1/workspaces')
        .set('Authorization', bearer(TEST_ADMIN_KEY))
        .send({ name: `workspace-${++workspaceCount}-${plan}`, plan, ...(rateLimitPerMinute ? { rateLimitPerMinute } : {}) })
        .expect(201);
      return (res.body as { id: string }).id;
    },
    async createKey(workspaceId, scopes = ['workflows:read', 'workflows:write', 'executions:read', 'executions:run']) {
      const res = await testApp.http
        .post('/v1/api-keys')
        .set('Authorization', bearer(TEST_ADMIN_KEY))
        .send({ name: 'test key', workspaceId, scopes })
        .expect(201);
      const { key, id } = res.body as { key: string; id: string };
      return { key, id };
    },
    async listen() {
      const server: Server = testApp.app.getHttpServer();
      if (!server.listening) await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async restart(restartEnv = {}) {
      await testApp.app.close();
      testApp.config = loadConfig({ ...baseEnv, ...restartEnv });
      testApp.app = await initApp(checkResponsesAgainstContract(await createApp({ config: testApp.config, clock, databaseRetryAttempts: 0 })));
      testApp.http = request(testApp.app.getHttpServer());
    },
    async close() {
      await testApp.app.close();
      await scratch?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return testApp;
}

/** A log destination keeping what the app writes, a line per write, for createApp's `logDestination`. */
export function linesInto(lines: string[]): DestinationStream {
  return { write: (line: string) => void lines.push(line) };
}

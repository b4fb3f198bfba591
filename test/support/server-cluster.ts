import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchDatabase } from './postgres';
import { REDIS_URL } from './redis';
import { ServerProcess, startServerProcess } from './server-process';

export const POSTGRES_ADMIN_URL = process.env.TENSORIFY_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const CLUSTER_ADMIN_KEY = 'tfy_ClusterTestAdminKey0123456789abcdefghijk';

export interface ServerCluster {
  servers: ServerProcess[];
  adminKey: string;
  databaseUrl: string;
  /** Stops every server (SIGKILL after 10 s), drops the database and removes the data directories. */
  stop(): Promise<void>;
}

async function stopProcess(server: ServerProcess): Promise<void> {
  const kill = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await server.stop();
  clearTimeout(kill);
}

/**
 * `count` real server processes (`bin/tensorify-server.js start`, built `dist/`) of one
 * distributed deployment: one fresh PostgreSQL database and one Redis, each process with its own
 * data directory. The first one migrates the database and bootstraps `adminKey`.
 */
export async function startServerCluster(count: number, env: Record<string, string> = {}): Promise<ServerCluster> {
  const database = await createScratchDatabase(POSTGRES_ADMIN_URL);
  const dataDirs: string[] = [];
  const servers: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(servers.map(stopProcess));
    await database.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  };
  const start = () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-cluster-'));
    dataDirs.push(dataDir);
    return startServerProcess({
      TENSORIFY_DATA_DIR: dataDir,
      TENSORIFY_DATABASE_URL: database.url,
      TENSORIFY_REDIS_URL: REDIS_URL,
      TENSORIFY_BOOTSTRAP_API_KEY: CLUSTER_ADMIN_KEY,
      TENSORIFY_LOG_LEVEL: 'warn',
      ...env,
    }).then((server) => {
      servers.push(server);
      return server;
    });
  };
  try {
    await start();
    await Promise.all(Array.from({ length: count - 1 }, start));
  } catch (error) {
    await stop();
    throw error;
  }
  return { servers, adminKey: CLUSTER_ADMIN_KEY, databaseUrl: database.url, stop };
}

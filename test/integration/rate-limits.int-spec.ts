import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { rateLimitStorageCases } from '../../src/plans/rate-limit.storage.spec';
import { REDIS_RATE_LIMIT_PREFIX, RedisRateLimitStorage } from '../../src/plans/redis-rate-limit.storage';
import { REDIS_URL, redisConnections, RedisProxy, redisProxy, unusedLoopbackPort } from '../support/redis';
import { ServerCluster, startServerCluster } from '../support/server-cluster';
import { ServerProcess, startServerProcess } from '../support/server-process';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const unique = (name: string) => `test:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}:${name}`;

describe('RedisRateLimitStorage (real Redis)', () => {
  // Connections made as the server makes them (RedisConnections), closed without QUIT: some lead nowhere.
  const opened: Redis[] = [];
  const connect = (url = REDIS_URL) => {
    const client = redisConnections(url).client();
    opened.push(client);
    return client;
  };
  let redis: Redis;
  beforeAll(() => {
    redis = connect();
  });
  afterAll(() => opened.forEach((client) => client.disconnect()));

  describe('the semantics of every rate-limit storage', () => {
    // Real time: each step waits a little longer than asked, as the cases allow.
    rateLimitStorageCases(() => ({ storage: new RedisRateLimitStorage(redis), advance: (ms) => sleep(ms + 25) }));
  });

  it('keeps a counter as a hash under tensorify:rl: with a PX expiry at the end of its window', async () => {
    const key = unique('layout');
    await new RedisRateLimitStorage(redis).increment(key, 5_000, 1, 0, 'test');
    await new RedisRateLimitStorage(redis).increment(key, 5_000, 1, 0, 'test');
    const stored = await redis.hgetall(`${REDIS_RATE_LIMIT_PREFIX}${key}`);
    expect(stored.h).toBe('2');
    expect(Number(stored.b)).toBe(Number(stored.w));
    const pttl = await redis.pttl(`${REDIS_RATE_LIMIT_PREFIX}${key}`);
    expect(pttl).toBeGreaterThan(4_800);
    expect(pttl).toBeLessThanOrEqual(5_000);
  });

  it('shares counters between storages on different connections (instances)', async () => {
    const key = unique('shared');
    const [a, b] = [new RedisRateLimitStorage(connect()), new RedisRateLimitStorage(connect())];
    const records = [];
    for (let i = 0; i < 6; i++) records.push(await (i % 2 ? b : a).increment(key, 60_000, 4, 0, 'test'));
    expect(records.map((r) => [r.totalHits, r.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, false],
      [5, true],
      [6, true],
    ]);
    expect(await a.peek(key)).toEqual(await b.peek(key));
  });

  it('sends the counters asked for in one turn of the event loop in one write, each with its own answer', async () => {
    const client = connect();
    await client.ping(); // connected (a busy machine may take longer than the storage waits for a first connection)
    const storage = new RedisRateLimitStorage(client);
    const key = unique('coalesced');
    await storage.increment(key, 60_000, 100, 0, 'test'); // the script loaded
    const socket = client.stream as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
    const writes = { single: jest.spyOn(socket, '_write'), batched: jest.spyOn(socket, '_writev') };
    const records = await Promise.all(Array.from({ length: 10 }, () => storage.increment(key, 60_000, 100, 0, 'test')));
    expect(records.map((record) => record.totalHits).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(writes.single).not.toHaveBeenCalled();
    expect(writes.batched).toHaveBeenCalledTimes(1);
    expect(await storage.peek(key)).toMatchObject({ totalHits: 11 });
  });

  it('loads its script again when Redis has lost it (NOSCRIPT → EVAL)', async () => {
    const key = unique('noscript');
    const storage = new RedisRateLimitStorage(redis);
    await storage.increment(key, 60_000, 5, 0, 'test');
    await redis.script('FLUSH');
    expect(await storage.increment(key, 60_000, 5, 0, 'test')).toMatchObject({ totalHits: 2 });
    expect(await storage.peek(key)).toMatchObject({ totalHits: 2 });
  });

  it('fails fast while Redis is unreachable instead of queueing the command', async () => {
    const storage = new RedisRateLimitStorage(connect(`redis://127.0.0.1:${await unusedLoopbackPort()}`));
    let started = Date.now();
    await expect(storage.increment(unique('down'), 60_000, 5, 0, 'test')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_000); // the first connection attempt, bounded by the command timeout
    started = Date.now();
    for (let i = 0; i < 10; i++) {
      await expect(storage.increment(unique('down'), 60_000, 5, 0, 'test')).rejects.toThrow(/not connected/);
      await expect(storage.peek(unique('down'))).rejects.toThrow(/not connected/);
    }
    // Refused at once, not queued: 20 queued commands would wait out the 500 ms command timeout
    // each (10 s). The bound leaves room for a loaded machine.
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('gives up on a command Redis does not answer after the command timeout', async () => {
    const proxy = await redisProxy();
    try {
      const client = connect(proxy.url);
      const storage = new RedisRateLimitStorage(client, { commandTimeoutMs: 200 });
      const key = unique('hung');
      expect(await storage.increment(key, 60_000, 5, 0, 'test')).toMatchObject({ totalHits: 1 });
      proxy.freeze();
      const started = Date.now();
      await expect(storage.increment(key, 60_000, 5, 0, 'test')).rejects.toThrow(/timed out/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      expect(Date.now() - started).toBeLessThan(1_000);
      await proxy.restore();
      // The abandoned command still reaches Redis; the connection stays in step.
      expect(await storage.increment(key, 60_000, 5, 0, 'test')).toMatchObject({ totalHits: 3 });
    } finally {
      await proxy.close();
    }
  });
});

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

async function get(server: ServerProcess, path: string, key: string): Promise<Reply> {
  const response = await fetch(`${server.baseUrl}${path}`, { headers: { Authorization: `Bearer ${key}` } });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

async function post(server: ServerProcess, path: string, key: string, body: object): Promise<any> {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(201);
  return response.json();
}

function expectRateLimited(res: Reply): void {
  expect(res.status).toBe(429);
  expect(res.body).toEqual({
    error: {
      code: 'RATE_LIMITED',
      message: expect.stringContaining('Rate limit of 60 requests per minute'),
      details: { limit: 60, windowSeconds: 60, plan: 'free' },
      requestId: res.headers.get('x-request-id'),
    },
  });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.headers.get('x-ratelimit-reset')).toBe(String(retryAfter));
}

describe('two API instances sharing PostgreSQL and Redis', () => {
  let cluster: ServerCluster;
  let redis: Redis;

  beforeAll(async () => {
    cluster = await startServerCluster(2);
    redis = new Redis(REDIS_URL);
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  }, 30_000);

  /** A new free workspace, created on the first instance, and a key of it. */
  async function freeWorkspaceKey(): Promise<{ workspaceId: string; key: string }> {
    const [first] = cluster.servers;
    const workspace = await post(first, '/v1/workspaces', cluster.adminKey, { name: unique('free'), plan: 'free' });
    const { key } = await post(first, '/v1/api-keys', cluster.adminKey, { name: 'rate limits', workspaceId: workspace.id, scopes: ['workflows:read'] });
    return { workspaceId: workspace.id, key };
  }

  it('lets a free workspace make exactly 60 requests per minute across both instances, with consistent headers', async () => {
    const { workspaceId, key } = await freeWorkspaceKey();
    const replies: Reply[] = [];
    for (let i = 0; i < 120; i++) replies.push(await get(cluster.servers[i % 2], '/v1/me', key));

    const passed = replies.slice(0, 60);
    expect(passed.map((r) => r.status)).toEqual(Array(60).fill(200));
    expect(passed.map((r) => Number(r.headers.get('x-ratelimit-remaining')))).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    const refused = replies.slice(60);
    refused.forEach(expectRateLimited);
    for (const res of replies) {
      expect(res.headers.get('x-ratelimit-limit')).toBe('60');
      expect(res.headers.get('ratelimit-policy')).toBe('"workspace";q=60;w=60');
      expect(res.headers.get('ratelimit')).toBe(`"workspace";r=${res.headers.get('x-ratelimit-remaining')};t=${res.headers.get('x-ratelimit-reset')}`);
    }
    expect(refused.every((r) => r.headers.get('x-ratelimit-remaining') === '0')).toBe(true);
    // One window for both instances: the reset only counts down, whichever instance answers.
    const resets = replies.map((r) => Number(r.headers.get('x-ratelimit-reset')));
    resets.forEach((reset, i) => {
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(i === 0 ? 60 : resets[i - 1]);
    });
    expect(resets[0] - resets[119]).toBeLessThanOrEqual(5);
    expect(await redis.hget(`${REDIS_RATE_LIMIT_PREFIX}workspace:${workspaceId}`, 'h')).toBe('120');
  });

  it('lets exactly 60 of 120 concurrent requests, 60 on each instance, through', async () => {
    const { key } = await freeWorkspaceKey();
    // Half of them the list of workflows, whose cached pages are answered before Fastify (workflows/hot-read.ts): counted once too.
    const path = (i: number) => (i % 4 < 2 ? '/v1/me' : '/v1/workflows');
    const replies = await Promise.all(Array.from({ length: 120 }, (_, i) => get(cluster.servers[i % 2], path(i), key)));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(60);
    replies.filter((r) => r.status !== 200).forEach(expectRateLimited);
    const remaining = replies.filter((r) => r.status === 200).map((r) => Number(r.headers.get('x-ratelimit-remaining')));
    expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });
});

describe('an API instance whose Redis hangs or becomes unreachable', () => {
  // The server starts only with a reachable Redis (the execution queue waits for it at boot), so
  // it reaches Redis through a proxy that the test freezes, then cuts.
  const KEY = 'tfy_RedisDownTestAdminKey0123456789abcdefghij';
  let server: ServerProcess;
  let proxy: RedisProxy;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tensorify-redis-down-'));
    proxy = await redisProxy();
    server = await startServerProcess({
      TENSORIFY_DATA_DIR: dataDir,
      TENSORIFY_REDIS_URL: proxy.url,
      TENSORIFY_BOOTSTRAP_API_KEY: KEY,
      TENSORIFY_LOG_LEVEL: 'info',
    });
  });
  async function stop(): Promise<number | null> {
    const kill = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
    const code = await server.stop();
    clearTimeout(kill);
    return code;
  }
  afterAll(async () => {
    await proxy?.restore();
    if (server) await stop();
    await proxy?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  /** GET /v1/me, which must answer 200 within `withinMs`. */
  async function me(withinMs: number, key = KEY): Promise<Reply> {
    const started = Date.now();
    const res = await get(server, '/v1/me', key);
    expect(Date.now() - started).toBeLessThan(withinMs);
    return res;
  }

  it('keeps serving (fail open, uncounted, never a 500) while Redis hangs, is unreachable, and counts again once it is back', async () => {
    const counted = await me(2_000);
    expect(counted.status).toBe(200);
    expect(counted.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);

    proxy.freeze();
    for (let i = 0; i < 2; i++) {
      const res = await me(2_000);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }

    await proxy.cut();
    await sleep(100);
    for (let i = 0; i < 5; i++) {
      const res = await me(500);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBeNull();
    }
    expect((await me(500, 'tfy_UnknownKey0123456789abcdefghijklmnopqrs')).status).toBe(401);

    await proxy.restore();
    let res: Reply;
    const deadline = Date.now() + 10_000;
    do {
      await sleep(200);
      res = await me(2_000);
      expect(res.status).toBe(200);
    } while (res.headers.get('x-ratelimit-limit') === null && Date.now() < deadline);
    expect(res.headers.get('x-ratelimit-limit')).not.toBeNull();

    // The logs are written in blocks; stopping the server flushes them. One warning for the outage.
    expect(await stop()).toBe(0);
    expect(
      server
        .stdout()
        .split('\n')
        .filter((line) => line.includes('Rate-limit store failed')),
    ).toHaveLength(1);
    expect(server.stdout()).toContain('Rate-limit store is back');
  });
});

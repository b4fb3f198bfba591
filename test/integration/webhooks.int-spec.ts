import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { createScratchDatabase } from '../support/postgres';
import { REDIS_URL } from '../support/redis';
import { POSTGRES_ADMIN_URL } from '../support/server-cluster';
import { type ServerProcess, startServerProcess } from '../support/server-process';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

/**
 * Webhooks in the distributed mode, as real processes: two API-only instances sharing
 * TENSORIFY_SECRETS_KEY and one worker, on PostgreSQL and a Redis database of this suite's own. A
 * `wait` delivery is answered by an API instance with the output of a run that a worker process
 * ran (the end reaches the instance through Redis), and a hook made on one instance is served by
 * the other.
 */
const ADMIN_KEY = 'tfy_WebhookClusterAdminKey0123456789abcdefgh';
const REDIS = `${REDIS_URL.replace(/\/\d+$/, '')}/12`;

const waiting = (code: string, settings: Record<string, unknown> = {}) => ({
  name: 'Waits',
  nodes: [
    { id: 'trigger', type: 'webhook', settings: { responseMode: 'wait', waitSeconds: 60, ...settings } },
    { id: 'step', type: 'code', settings: { code } },
    { id: 'out', type: 'return', settings: { value: '{{ step }}' } },
  ],
  edges: [
    { source: 'trigger', target: 'step' },
    { source: 'step', target: 'out' },
  ],
});

const sign = (secret: string, body: string) => {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
};

describe('Webhooks in the distributed mode (2 API-only instances, 1 worker)', () => {
  let database: { url: string; drop: () => Promise<void> };
  const apis: ServerProcess[] = [];
  let worker: WorkerProcess | undefined;
  const dataDirs: string[] = [];

  beforeAll(async () => {
    const redis = new Redis(REDIS);
    await redis.flushdb();
    redis.disconnect();
    database = await createScratchDatabase(POSTGRES_ADMIN_URL);
    const env = {
      TENSORIFY_DATABASE_URL: database.url,
      TENSORIFY_REDIS_URL: REDIS,
      TENSORIFY_BOOTSTRAP_API_KEY: ADMIN_KEY,
      TENSORIFY_LOG_LEVEL: 'warn',
      TENSORIFY_SECRETS_KEY: randomBytes(32).toString('base64'),
    };
    const dataDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'tensorify-webhooks-int-'));
      dataDirs.push(dir);
      return dir;
    };
    apis.push(await startServerProcess({ ...env, TENSORIFY_DATA_DIR: dataDir(), TENSORIFY_PROCESS_EXECUTIONS: 'false' }));
    apis.push(await startServerProcess({ ...env, TENSORIFY_DATA_DIR: dataDir(), TENSORIFY_PROCESS_EXECUTIONS: 'false' }));
    worker = await startWorkerProcess({ ...env, TENSORIFY_DATA_DIR: dataDir() });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...apis, ...(worker ? [worker] : [])].map((process) => process.stop('SIGKILL')));
    await database?.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
    const redis = new Redis(REDIS);
    await redis.flushdb();
    redis.disconnect();
  });

  async function create(body: object): Promise<{ id: string; webhook: { url: string; hookId: string; secret: string } }> {
    const response = await fetch(`${apis[0].baseUrl}/v1/workflows`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; webhook: { url: string; hookId: string; secret: string } };
  }

  /** Delivers `body` to the hook through the other API instance than the one that made it. */
  const deliver = (hookId: string, secret: string, body: string) =>
    fetch(`${apis[1].baseUrl}/v1/hooks/${hookId}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Tensorify-Signature': sign(secret, body) },
      body,
    });

  it('answers a "wait" delivery with the output of the run a worker made, on the other instance', async () => {
    const { webhook } = await create(waiting('import os\nreturn {"double": input["body"]["n"] * 2, "pid": os.getpid()}'));
    const response = await deliver(webhook.hookId, webhook.secret, '{"n":21}');
    expect(response.status).toBe(200);
    const output = (await response.json()) as { double: number; pid: number };
    expect(output.double).toBe(42);
    expect(output.pid).not.toBe(apis[1].child.pid);
    const execution = (await (
      await fetch(`${apis[0].baseUrl}${response.headers.get('location')}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } })
    ).json()) as Record<string, unknown>;
    expect(execution).toMatchObject({ status: 'completed', trigger: { type: 'webhook', hookId: webhook.hookId } });
  }, 60_000);

  it('answers 502 EXECUTION_FAILED for a run that fails in the worker', async () => {
    const { webhook } = await create(waiting('raise RuntimeError("nope")'));
    const response = await deliver(webhook.hookId, webhook.secret, '{}');
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { code: string; details: { executionId: string; status: string } } };
    expect(body.error).toMatchObject({ code: 'EXECUTION_FAILED', details: { executionId: expect.stringMatching(/^exec_/), status: 'failed' } });
  }, 60_000);

  it('answers 202 when the run still runs at the deadline', async () => {
    const { webhook } = await create(waiting('import time\ntime.sleep(30)\nreturn {}', { waitSeconds: 1 }));
    const response = await deliver(webhook.hookId, webhook.secret, '{}');
    expect(response.status).toBe(202);
    const { executionId } = (await response.json()) as { executionId: string };
    await fetch(`${apis[0].baseUrl}/v1/executions/${executionId}/cancel`, { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
  }, 60_000);
});

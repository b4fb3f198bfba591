import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { BULL_QUEUE_NAME } from '../../src/executions/bull-execution-queue';
import { createScratchDatabase } from '../support/postgres';
import { REDIS_URL } from '../support/redis';
import { POSTGRES_ADMIN_URL } from '../support/server-cluster';
import { type ServerProcess, startServerProcess } from '../support/server-process';

/**
 * Group commit of executions (ExecutionCommits) under a storm of concurrent webhook deliveries and
 * `POST …/execute` requests, with duplicates among them, against a real server process: an
 * API-only instance of the distributed mode (nothing runs the executions; their jobs stay in
 * Redis, where the test reads them), on a SQLite file and on PostgreSQL. Whichever batches the
 * server makes of them: every 202 has its row and its job, every duplicate answers with the first
 * one's execution, a key used for another body is a 409, nothing is lost and nothing doubled.
 */
const ADMIN_KEY = 'tfy_GroupCommitAdminKey0123456789abcdefghij';
const AUTH = { Authorization: `Bearer ${ADMIN_KEY}` };
const REDIS = `${REDIS_URL.replace(/\/\d+$/, '')}/9`;

const WORKFLOW = {
  name: 'Storm',
  nodes: [
    { id: 'trigger', type: 'webhook', settings: { signature: 'tensorify', responseMode: 'ack' } },
    { id: 'out', type: 'return', settings: { value: { event: '{{ trigger.body.event }}' } } },
  ],
  edges: [{ source: 'trigger', target: 'out' }],
};

interface Answer {
  status: number;
  executionId: string | undefined;
  replayed: boolean;
}

/** One request of the storm, and the key whose execution it must answer with (none: its own new one). */
interface Shot {
  send: () => Promise<Answer>;
  key?: string;
  conflict?: boolean;
}

async function answer(response: Response): Promise<Answer> {
  const body = (await response.json()) as { executionId?: string; id?: string; error?: { details?: { executionId?: string } } };
  return {
    status: response.status,
    executionId: body.executionId ?? body.id ?? body.error?.details?.executionId,
    replayed: response.headers.get('idempotency-replayed') === 'true',
  };
}

describe.each([
  ['a SQLite file', false],
  ['PostgreSQL', true],
])('Group commit of executions under concurrent deliveries and executes, on %s', (_name, postgres) => {
  let server: ServerProcess;
  let database: { url: string; drop: () => Promise<void> } | undefined;
  let dataDir: string;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(REDIS);
    await redis.flushdb();
    dataDir = mkdtempSync(join(tmpdir(), 'tensorify-group-commit-'));
    if (postgres) database = await createScratchDatabase(POSTGRES_ADMIN_URL);
    server = await startServerProcess({
      ...(database ? { TENSORIFY_DATABASE_URL: database.url } : {}),
      TENSORIFY_DATA_DIR: dataDir,
      TENSORIFY_REDIS_URL: REDIS,
      TENSORIFY_PROCESS_EXECUTIONS: 'false',
      TENSORIFY_BOOTSTRAP_API_KEY: ADMIN_KEY,
      TENSORIFY_ENTERPRISE_RATE_LIMIT: '1000000',
      TENSORIFY_LOG_LEVEL: 'warn',
      TENSORIFY_SECRETS_KEY: randomBytes(32).toString('base64'),
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    await redis.flushdb();
    redis.disconnect();
  });

  it('answers every request as it would alone: each 202 has its row and its job, duplicates share the first execution', async () => {
    const created = await fetch(`${server.baseUrl}/v1/workflows`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify(WORKFLOW),
    });
    expect(created.status).toBe(201);
    const { id: workflowId, webhook } = (await created.json()) as { id: string; webhook: { hookId: string; secret: string } };

    const deliver = (event: string, key?: string) => async () => {
      const body = JSON.stringify({ event });
      const t = Math.floor(Date.now() / 1000);
      const signature = `t=${t},v1=${createHmac('sha256', webhook.secret).update(`${t}.${body}`).digest('hex')}`;
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        'Tensorify-Signature': signature,
        ...(key ? { 'Idempotency-Key': key } : {}),
      };
      return answer(await fetch(`${server.baseUrl}/v1/hooks/${webhook.hookId}`, { method: 'POST', headers, body }));
    };
    const execute = (event: string, key?: string) => async () =>
      answer(
        await fetch(`${server.baseUrl}/v1/workflows/${workflowId}/execute`, {
          method: 'POST',
          headers: { ...AUTH, 'Content-Type': 'application/json', ...(key ? { 'Idempotency-Key': key } : {}) },
          body: JSON.stringify({ inputs: { body: { event } } }),
        }),
      );

    // Stored before the storm: its duplicates inside the storm are duplicates of a stored row.
    const storedDelivery = await deliver('stored', 'd-stored')();
    const storedExecute = await execute('stored', 'e-stored')();
    expect([storedDelivery.status, storedExecute.status]).toEqual([202, 202]);

    // Groups of requests sent back to back: the copies of a key together (so that they reach the
    // server at the same moment and are stored in one batch, or race across two), the rest alone.
    const groups: Shot[][] = [];
    for (let i = 0; i < 40; i++) {
      const copies = i < 12 ? 3 : 1;
      groups.push(Array.from({ length: copies }, () => ({ send: deliver(`d${i}`, `d-${i}`), key: `hook:d-${i}` })));
      groups.push(Array.from({ length: copies }, () => ({ send: execute(`e${i}`, `e-${i}`), key: `api:e-${i}` })));
    }
    for (let i = 0; i < 25; i++) groups.push([{ send: deliver(`plain${i}`) }], [{ send: execute(`plain${i}`) }]);
    for (let i = 0; i < 4; i++)
      groups.push([{ send: deliver('stored', 'd-stored'), key: 'stored:d' }], [{ send: execute('stored', 'e-stored'), key: 'stored:e' }]);
    groups.push([{ send: execute('another body', 'e-stored'), conflict: true }]);
    // Interleaved so that deliveries and executes share batches.
    const order = groups.map((group, index) => ({ group, rank: (index * 7919) % groups.length })).sort((a, b) => a.rank - b.rank);
    const answers = await Promise.all(order.flatMap(({ group }) => group.map((shot) => shot.send().then((result) => ({ shot, result })))));

    const byKey = new Map<string, Answer[]>();
    const fresh: string[] = [];
    for (const { shot, result } of answers) {
      if (shot.conflict) {
        expect({ status: result.status, executionId: result.executionId }).toEqual({ status: 409, executionId: storedExecute.executionId });
        continue;
      }
      expect(result.status).toBe(202);
      expect(result.executionId).toMatch(/^exec_/);
      if (shot.key === undefined) {
        expect(result.replayed).toBe(false);
        fresh.push(result.executionId!);
      } else byKey.set(shot.key, [...(byKey.get(shot.key) ?? []), result]);
    }
    for (const [key, results] of byKey) {
      const ids = new Set(results.map((result) => result.executionId));
      expect({ key, executions: ids.size }).toEqual({ key, executions: 1 });
      // Exactly one request made it, the others replayed it; the pre-stored ones were all replays.
      expect({ key, made: results.filter((result) => !result.replayed).length }).toEqual({ key, made: key.startsWith('stored:') ? 0 : 1 });
    }
    expect(byKey.get('stored:d')![0].executionId).toBe(storedDelivery.executionId);
    expect(byKey.get('stored:e')![0].executionId).toBe(storedExecute.executionId);

    const made = [...fresh, ...[...byKey.entries()].filter(([key]) => !key.startsWith('stored:')).map(([, results]) => results[0].executionId!)];
    expect(new Set(made).size).toBe(made.length);
    const expected = [...made, storedDelivery.executionId!, storedExecute.executionId!].sort();

    // Every execution answered is stored, once, and queued: nothing lost, nothing doubled.
    const listed: { id: string; status: string }[] = [];
    let cursor: string | undefined;
    do {
      const page = await fetch(`${server.baseUrl}/v1/executions?workflowId=${workflowId}&limit=100${cursor ? `&cursor=${cursor}` : ''}`, { headers: AUTH });
      expect(page.status).toBe(200);
      const body = (await page.json()) as { executions: { id: string; status: string }[]; nextCursor: string | null };
      listed.push(...body.executions);
      cursor = body.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(listed.map((execution) => execution.id).sort()).toEqual(expected);
    expect(new Set(listed.map((execution) => execution.status))).toEqual(new Set(['queued']));
    const jobs = await Promise.all(expected.map((id) => redis.exists(`bull:${BULL_QUEUE_NAME}:${id}`)));
    expect(expected.filter((_, index) => jobs[index] !== 1)).toEqual([]);
    expect(await redis.llen(`bull:${BULL_QUEUE_NAME}:wait`)).toBe(expected.length);
  }, 120_000);
});

import { randomBytes } from 'node:crypto';
import Bull from 'bull';
import Redis from 'ioredis';
import { BullJobAdder, type ImmediateJob } from '../../src/executions/bull-add-jobs';
import { BullExecutionQueue, bullQueueOptions, type ExecutionJobData } from '../../src/executions/bull-execution-queue';
import { WorkspaceSlots } from '../../src/executions/workspace-slots';
import { REDIS_URL } from '../support/redis';
import { waitFor } from '../support/wait-for';

/**
 * BullJobAdder against real Redis and real Bull: a batch it adds leaves in Redis, key by key and
 * field by field, what Bull's own `addBulk` leaves for the same jobs, and publishes the same
 * events; Bull's workers process its jobs; the execution queue sends it immediate jobs and leaves
 * delayed ones to Bull. Each queue has a name of its own, removed with its keys afterwards.
 */
type Snapshot = Record<string, unknown>;

const TIMESTAMP = /"timestamp":\d+/;

/** Every key of the queue, by its name without the queue's prefix, with its value; the timestamps (the clock's) replaced by a mark. */
async function snapshot(redis: Redis, queue: Bull.Queue): Promise<Snapshot> {
  const prefix = `bull:${queue.name}:`;
  const keys = (await redis.keys(`${prefix}*`)).sort();
  const state: Snapshot = {};
  for (const key of keys) {
    const type = await redis.type(key);
    let value: unknown;
    if (type === 'string') value = await redis.get(key);
    else if (type === 'list') value = await redis.lrange(key, 0, -1);
    else if (type === 'zset') value = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else if (type === 'hash') {
      const hash = await redis.hgetall(key);
      if (hash.opts === undefined) value = hash;
      else {
        // A job's hash.
        expect(hash.timestamp).toMatch(/^\d+$/);
        expect(hash.opts).toMatch(TIMESTAMP);
        value = { ...hash, timestamp: 'T', opts: hash.opts.replace(TIMESTAMP, '"timestamp":T') };
      }
    } else value = `unexpected type ${type}`;
    state[`${type} ${key.slice(prefix.length)}`] = value;
  }
  return state;
}

/** The messages published on the queue's channels, with its name and token replaced by marks. */
class Events {
  readonly messages: string[] = [];
  private readonly subscriber = new Redis(REDIS_URL);

  constructor(private readonly queue: Bull.Queue) {
    this.subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
      const token = (queue as unknown as { token: string }).token;
      this.messages.push(`${channel.replace(`bull:${queue.name}:`, 'Q:').replace(token, 'TOKEN')} ${message}`);
    });
  }

  async listen(): Promise<void> {
    await this.subscriber.psubscribe(`bull:${this.queue.name}:*`);
  }

  /** Resolves once every message published before the call has arrived (a PING's answer follows them on the connection). */
  async settled(): Promise<string[]> {
    await this.subscriber.ping();
    return this.messages;
  }

  async close(): Promise<void> {
    await this.subscriber.quit();
  }
}

function newQueue(): Bull.Queue<ExecutionJobData> {
  return new Bull<ExecutionJobData>(`bull-add-jobs-${randomBytes(4).toString('hex')}`, REDIS_URL, bullQueueOptions(60_000));
}

function jobs(...ids: string[]): ImmediateJob<ExecutionJobData>[] {
  return ids.map((id) => ({ jobId: id, data: { executionId: id.split('.')[0] } }));
}

describe(BullJobAdder.name, () => {
  let redis: Redis;
  const queues: Bull.Queue[] = [];
  const events: Events[] = [];

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });

  afterEach(async () => {
    for (const listener of events.splice(0)) await listener.close();
    for (const queue of queues.splice(0)) {
      const keys = await redis.keys(`bull:${queue.name}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await queue.close();
    }
  });

  afterAll(async () => {
    await redis.quit();
  });

  /** Two fresh queues, one fed by BullJobAdder and one by Bull's addBulk, listened to. */
  async function pair(): Promise<{ ours: Bull.Queue<ExecutionJobData>; bulls: Bull.Queue<ExecutionJobData>; ourEvents: Events; bullEvents: Events }> {
    const ours = newQueue();
    const bulls = newQueue();
    queues.push(ours, bulls);
    const ourEvents = new Events(ours);
    const bullEvents = new Events(bulls);
    events.push(ourEvents, bullEvents);
    await Promise.all([ours.isReady(), bulls.isReady(), ourEvents.listen(), bullEvents.listen()]);
    return { ours, bulls, ourEvents, bullEvents };
  }

  async function addBoth(ours: Bull.Queue<ExecutionJobData>, bulls: Bull.Queue<ExecutionJobData>, batch: ImmediateJob<ExecutionJobData>[]): Promise<void> {
    await new BullJobAdder(ours).add(batch);
    await bulls.addBulk(batch.map((job) => ({ data: job.data, opts: { jobId: job.jobId } })));
  }

  async function expectSameState(pairOf: Awaited<ReturnType<typeof pair>>): Promise<void> {
    const [state, bullState] = [await snapshot(redis, pairOf.ours), await snapshot(redis, pairOf.bulls)];
    expect(state).toEqual(bullState);
    expect(await pairOf.ourEvents.settled()).toEqual(await pairOf.bullEvents.settled());
  }

  it('leaves what addBulk leaves on an active queue: the job hashes, the wait list, the id counter, the waiting events', async () => {
    const queues = await pair();
    await addBoth(queues.ours, queues.bulls, jobs('exec-1', 'exec-2', 'exec-3.attempt-2'));

    const state = await snapshot(redis, queues.ours);
    expect(state['list wait']).toEqual(['exec-3.attempt-2', 'exec-2', 'exec-1']);
    expect(state['string id']).toBe('3');
    expect(state['hash exec-1']).toMatchObject({ name: '__default__', data: '{"executionId":"exec-1"}', delay: '0', priority: '0' });
    await expectSameState(queues);
    expect(queues.ourEvents.messages).toEqual(['Q:waiting@TOKEN exec-1', 'Q:waiting@TOKEN exec-2', 'Q:waiting@TOKEN exec-3.attempt-2']);
  });

  it('leaves what addBulk leaves on a paused queue: the jobs on the paused list, none on wait', async () => {
    const queues = await pair();
    await Promise.all([queues.ours.pause(), queues.bulls.pause()]);
    await addBoth(queues.ours, queues.bulls, jobs('exec-1', 'exec-2'));

    const state = await snapshot(redis, queues.ours);
    expect(state['list paused']).toEqual(['exec-2', 'exec-1']);
    expect(state['list wait']).toBeUndefined();
    await expectSameState(queues);
  });

  it('skips a job whose id is in Redis already, as addBulk does: counted, announced as duplicated, not written again', async () => {
    const queues = await pair();
    await addBoth(queues.ours, queues.bulls, jobs('exec-1'));
    await redis.hset(`bull:${queues.ours.name}:exec-1`, 'data', 'kept');
    await redis.hset(`bull:${queues.bulls.name}:exec-1`, 'data', 'kept');
    await addBoth(queues.ours, queues.bulls, jobs('exec-1', 'exec-2', 'exec-2'));

    const state = await snapshot(redis, queues.ours);
    expect(state['list wait']).toEqual(['exec-2', 'exec-1']);
    expect(state['string id']).toBe('4');
    expect(state['hash exec-1']).toMatchObject({ data: 'kept' });
    await expectSameState(queues);
    expect(queues.ourEvents.messages.filter((message) => message.startsWith('Q:duplicated@TOKEN'))).toEqual([
      'Q:duplicated@TOKEN exec-1',
      'Q:duplicated@TOKEN exec-2',
    ]);
  });

  it("hands its jobs to Bull's workers, with their data, their ids and the queue's job options", async () => {
    const queue = newQueue();
    queues.push(queue);
    const seen: { id: unknown; data: ExecutionJobData; attempts: unknown; removeOnComplete: unknown }[] = [];
    void queue.process((job) => {
      seen.push({ id: job.id, data: job.data, attempts: job.opts.attempts, removeOnComplete: job.opts.removeOnComplete });
      return Promise.resolve();
    });
    await new BullJobAdder(queue).add(jobs('exec-1', 'exec-2.attempt-3'));

    await waitFor(
      () => seen.length,
      (count) => count === 2,
      { what: 'the jobs processed' },
    );
    expect(seen).toEqual([
      { id: 'exec-1', data: { executionId: 'exec-1' }, attempts: 100_000, removeOnComplete: true },
      { id: 'exec-2.attempt-3', data: { executionId: 'exec-2' }, attempts: 100_000, removeOnComplete: true },
    ]);
    await waitFor(
      () => redis.exists(`bull:${queue.name}:exec-2.attempt-3`),
      (exists) => exists === 0,
      { what: 'the completed job removed' },
    );
  });

  it('is not used for a queue whose settings it does not mirror (a default priority, a limiter group key)', () => {
    const prioritised = new Bull(`bull-add-jobs-${randomBytes(4).toString('hex')}`, REDIS_URL, { defaultJobOptions: { priority: 1 } });
    const grouped = new Bull(`bull-add-jobs-${randomBytes(4).toString('hex')}`, REDIS_URL, { limiter: { max: 1, duration: 1000, groupKey: 'x' } });
    const plain = newQueue();
    queues.push(prioritised, grouped, plain);

    expect(new BullJobAdder(prioritised).mirrors).toBe(false);
    expect(new BullJobAdder(grouped).mirrors).toBe(false);
    expect(new BullJobAdder(plain).mirrors).toBe(true);
  });
});

describe(`${BullExecutionQueue.name} queueing`, () => {
  let redis: Redis;
  let queue: Bull.Queue<ExecutionJobData>;
  let executions: BullExecutionQueue;

  beforeEach(async () => {
    redis = new Redis(REDIS_URL);
    queue = newQueue();
    await queue.isReady();
    executions = new BullExecutionQueue(queue, { process: false, concurrency: 1, stallMs: 60_000, slots: new WorkspaceSlots(redis, 60_000) });
  });

  afterEach(async () => {
    await executions.stop();
    const keys = await redis.keys(`bull:${queue.name}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('queues immediate executions on the wait list and retries waiting out a backoff as delayed jobs, in one call', async () => {
    executions.enqueueMany([
      { executionId: 'exec-1', workspaceId: 'w', workspaceLimit: 1 },
      { executionId: 'exec-2', workspaceId: 'w', workspaceLimit: 1, attempt: 2 },
      { executionId: 'exec-3', workspaceId: 'w', workspaceLimit: 1, attempt: 2, delayMs: 60_000 },
    ]);

    await waitFor(
      async () => [await redis.lrange(`bull:${queue.name}:wait`, 0, -1), await redis.zrange(`bull:${queue.name}:delayed`, 0, -1)],
      ([wait, delayed]) => wait.length === 2 && delayed.length === 1,
      { what: 'the jobs in Redis' },
    );
    expect(await redis.lrange(`bull:${queue.name}:wait`, 0, -1)).toEqual(['exec-2.attempt-2', 'exec-1']);
    expect(await redis.zrange(`bull:${queue.name}:delayed`, 0, -1)).toEqual(['exec-3.attempt-2']);
  });
});

import type Redis from 'ioredis';

/**
 * A workspace's running executions across every worker: a sorted set of execution ids scored by
 * when their lease ends. A worker that dies stops renewing, so its slot frees itself.
 */
export class WorkspaceSlots {
  constructor(
    private readonly redis: Redis,
    private readonly leaseMs: number,
  ) {
    redis.defineCommand('tensorifyAcquireSlot', {
      numberOfKeys: 1,
      lua: `
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
          redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
          redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
          return 1
        end
        return 0`,
    });
  }

  private key(workspaceId: string): string {
    return `tensorify:slots:${workspaceId}`;
  }

  /** Takes (or renews) one of the workspace's `limit` slots for the execution; false when all are taken. */
  async acquire(workspaceId: string, executionId: string, limit: number): Promise<boolean> {
    const command = (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<number>>).tensorifyAcquireSlot;
    return (await command.call(this.redis, this.key(workspaceId), executionId, limit, this.leaseMs)) === 1;
  }

  async release(workspaceId: string, executionId: string): Promise<void> {
    await this.redis.zrem(this.key(workspaceId), executionId);
  }
}

import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { ioredis } from '../redis/ioredis';
import type { IncrementUnlessBlocked, RateLimitStorage, ThrottlerStorageRecord } from './rate-limit.storage';

export const REDIS_RATE_LIMIT_PREFIX = 'tensorify:rl:';
/** Longest wait for one counter operation before the request is let through uncounted. */
export const REDIS_RATE_LIMIT_COMMAND_TIMEOUT_MS = 500;

// Shared by every script: "now" from the Redis clock (all instances agree on it), and a counter (a
// hash of hits `h`, window end `w` and block end `b`, in ms) read, counted and answered exactly as
// MemoryRateLimitStorage does. The key's PX expiry removes it at the same moment anyway.
const COUNTERS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function load(key)
  local c = redis.call('HMGET', key, 'h', 'w', 'b')
  local hits, windowEndsAt, blockedUntil = tonumber(c[1]), tonumber(c[2]), tonumber(c[3])
  if hits and windowEndsAt <= now and blockedUntil <= now then hits = nil end
  return hits, windowEndsAt, blockedUntil
end
local function record(hits, windowEndsAt, blockedUntil)
  local blocked = blockedUntil > now
  return { hits, math.max(0, math.ceil((windowEndsAt - now) / 1000)), blocked and 1 or 0, blocked and math.ceil((blockedUntil - now) / 1000) or 0 }
end
local function increment(key, ttl, limit, blockDuration)
  local hits, windowEndsAt, blockedUntil = load(key)
  if not hits then
    hits = 0
    windowEndsAt = now + ttl
    blockedUntil = 0
  end
  hits = hits + 1
  if hits > limit then
    if blockedUntil <= now then blockedUntil = math.max(windowEndsAt, now + blockDuration) end
  elseif blockDuration == 0 then
    blockedUntil = 0
  end
  redis.call('HSET', key, 'h', hits, 'w', windowEndsAt, 'b', blockedUntil)
  redis.call('PEXPIRE', key, math.max(1, math.max(windowEndsAt, blockedUntil) - now))
  return record(hits, windowEndsAt, blockedUntil)
end
`;

/** The arguments of `increment` from ARGV: ttl (ms), limit, blockDuration (ms). */
const INCREMENT_ARGS = 'math.floor(tonumber(ARGV[1])), tonumber(ARGV[2]), math.floor(tonumber(ARGV[3]))';

/** KEYS[1] counter; ARGV ttl (ms), limit, blockDuration (ms). */
const INCREMENT = `${COUNTERS}
return increment(KEYS[1], ${INCREMENT_ARGS})`;

/** KEYS[1] counter; nil when there is none. */
const PEEK = `${COUNTERS}
local hits, windowEndsAt, blockedUntil = load(KEYS[1])
if not hits then return false end
return record(hits, windowEndsAt, blockedUntil)`;

/** KEYS[1] the blocking counter, KEYS[2] the counter; ARGV as INCREMENT's. The blocking counter's record marked with a fifth item, 1, when it is blocked. */
const INCREMENT_UNLESS_BLOCKED = `${COUNTERS}
local hits, windowEndsAt, blockedUntil = load(KEYS[1])
if hits and blockedUntil > now then
  local blocking = record(hits, windowEndsAt, blockedUntil)
  blocking[5] = 1
  return blocking
end
return increment(KEYS[2], ${INCREMENT_ARGS})`;

class Script {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }
}

const INCREMENT_SCRIPT = new Script(INCREMENT);
const PEEK_SCRIPT = new Script(PEEK);
const INCREMENT_UNLESS_BLOCKED_SCRIPT = new Script(INCREMENT_UNLESS_BLOCKED);

function toRecord([totalHits, timeToExpire, isBlocked, timeToBlockExpire]: number[]): ThrottlerStorageRecord {
  return { totalHits, timeToExpire, isBlocked: isBlocked === 1, timeToBlockExpire };
}

/** Thrown at once, without a round trip, while the Redis connection is down. */
export class RateLimitStoreUnavailableError extends Error {
  constructor(status: string) {
    super(`Redis is not connected (${status})`);
    this.name = 'RateLimitStoreUnavailableError';
  }
}

export interface RedisRateLimitStorageOptions {
  prefix?: string;
  commandTimeoutMs?: number;
}

/**
 * The rate-limit counters in Redis, shared by every instance of the distributed mode: same
 * semantics as MemoryRateLimitStorage (fixed windows opened by the first hit, blocks until the
 * window ends or `blockDuration`, a `blockDuration` of 0 lifted as soon as a hit is within the
 * limit again). Each operation is one round trip: a Lua script (EVALSHA, EVAL once if Redis lost
 * it) that reads the time from Redis (`TIME`), so instances with skewed clocks still agree on
 * windows, and counts atomically. Keys are `tensorify:rl:<key>`, a hash with a PX expiry at the
 * end of its window or block.
 *
 * Redis trouble never hangs or fails a request: while the connection is down an operation is
 * refused at once (the shared connection would otherwise queue it until Redis is back), and one
 * that gets no answer is abandoned after `commandTimeoutMs` (500 ms). Either way it rejects, and
 * the callers fail open: WorkspaceRateLimiter lets the request through uncounted and without
 * rate-limit headers, logging a warning once per outage; the auth-failure limit is skipped.
 */
export class RedisRateLimitStorage implements RateLimitStorage {
  private readonly prefix: string;
  private readonly commandTimeoutMs: number;
  /** Set once the connection has first succeeded or failed: from then on "not ready" means "down". */
  private connectionSettled: boolean;
  /** The connection's socket while its writes are held (see coalesceWrites). */
  private corked?: Redis['stream'];

  constructor(
    private readonly redis: Redis,
    options: RedisRateLimitStorageOptions = {},
  ) {
    this.prefix = options.prefix ?? REDIS_RATE_LIMIT_PREFIX;
    this.commandTimeoutMs = options.commandTimeoutMs ?? REDIS_RATE_LIMIT_COMMAND_TIMEOUT_MS;
    this.connectionSettled = redis.status === 'ready';
    if (!this.connectionSettled) this.whenSettled(() => (this.connectionSettled = true));
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, _throttlerName?: string): Promise<ThrottlerStorageRecord> {
    const reply = await this.run(INCREMENT_SCRIPT, [key], [String(ttl), String(limit), String(blockDuration ?? 0)]);
    if (reply === null) throw new Error(`Rate-limit script returned no counter for ${key}`);
    return toRecord(reply);
  }

  async peek(key: string): Promise<ThrottlerStorageRecord | null> {
    const reply = await this.run(PEEK_SCRIPT, [key], []);
    return reply === null ? null : toRecord(reply);
  }

  async incrementUnlessBlocked(blockKey: string, key: string, ttl: number, limit: number, blockDuration: number): Promise<IncrementUnlessBlocked> {
    const reply = await this.run(INCREMENT_UNLESS_BLOCKED_SCRIPT, [blockKey, key], [String(ttl), String(limit), String(blockDuration)]);
    if (reply === null) throw new Error(`Rate-limit script returned no counter for ${key}`);
    return reply[4] === 1 ? { blocked: toRecord(reply) } : { counted: toRecord(reply) };
  }

  private async run(script: Script, keys: string[], args: string[]): Promise<number[] | null> {
    await this.connected();
    const fullKeys = keys.map((key) => this.prefix + key);
    let reply: unknown;
    try {
      reply = await this.send('evalsha', [script.sha, String(keys.length), ...fullKeys, ...args]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      reply = await this.send('eval', [script.lua, String(keys.length), ...fullKeys, ...args]);
    }
    return reply as number[] | null;
  }

  /**
   * Resolves when the connection is ready; rejects at once while it is down. Only before the
   * connection's first outcome (just after boot) does it wait, at most the command timeout. The
   * shared connection would queue a command until Redis is back; nothing is queued that way.
   */
  private async connected(): Promise<void> {
    if (this.redis.status === 'ready') return;
    if (this.connectionSettled || ['end', 'close', 'reconnecting'].includes(this.redis.status)) {
      throw new RateLimitStoreUnavailableError(this.redis.status);
    }
    if (this.redis.status === 'wait') this.redis.connect().catch(() => undefined);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.commandTimeoutMs);
      const stop = this.whenSettled(done);
      function done() {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
    const status: string = this.redis.status;
    if (status !== 'ready') throw new RateLimitStoreUnavailableError(status);
  }

  /** Calls `then` once on the connection's next 'ready', 'error' or 'close'; returns a function that cancels it. */
  private whenSettled(then: () => void): () => void {
    const events = ['ready', 'error', 'close'] as const;
    const handler = () => {
      stop();
      then();
    };
    const stop = () => events.forEach((event) => this.redis.off(event, handler));
    events.forEach((event) => this.redis.on(event, handler));
    return stop;
  }

  private send(name: 'evalsha' | 'eval', args: string[]): Promise<unknown> {
    const command = new (ioredis().Command)(name, args, { replyEncoding: 'utf8' });
    command.setTimeout(this.commandTimeoutMs);
    this.coalesceWrites();
    return this.redis.sendCommand(command) as Promise<unknown>;
  }

  /**
   * Holds the connection's writes until the end of this turn of the event loop, so that the
   * counters of all the requests that arrived together leave in one write (a system call each
   * was a tenth of a webhook delivery's CPU). ioredis's own `enableAutoPipelining` does the same
   * but only for its command methods, through a Pipeline object per batch, and with one timeout
   * for the whole connection; these Commands carry their own.
   */
  private coalesceWrites(): void {
    if (this.corked !== undefined) return;
    const stream = this.redis.stream;
    stream.cork();
    this.corked = stream;
    setImmediate(() => {
      this.corked = undefined;
      stream.uncork();
    });
  }
}

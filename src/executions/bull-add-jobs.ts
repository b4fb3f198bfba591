import type Bull from 'bull';
import type Redis from 'ioredis';

/** The Bull release whose addJob script ADD_JOBS_LUA mirrors (package.json pins it exactly). */
export const MIRRORED_BULL_VERSION = '4.16.5';
/**
 * SHA-256 of Bull's lib/commands/addJob-6.lua followed by the includes it names, in the order it
 * names them (includes/addJobWithPriority.lua, includes/debounceJob.lua, includes/getTargetQueueList.lua).
 * A test compares it with the installed Bull: a Bull whose addJob changed fails it, so that an
 * upgrade means reading the new script and mending ADD_JOBS_LUA, never a silent drift.
 */
export const MIRRORED_ADD_JOB_SHA256 = '2e8be9fbb64b9dd9571864c8e50c9c54b2bf7250d4c5d268a16718a080695f20';

const COMMAND = 'tensorifyAddJobs';
/** The name Bull gives a job added without one (Job.DEFAULT_JOB_NAME). */
const DEFAULT_JOB_NAME = '__default__';
const ARGS_PER_JOB = 3;

/**
 * Adds a batch of immediate jobs with one EVALSHA, doing for each exactly what Bull's addJob-6.lua
 * does for a job with a custom id, no priority, no delay, FIFO and no debounce: a job whose key
 * exists is skipped (and `duplicated@token` published); otherwise the hash is written, the id
 * pushed onto `wait` (or `paused` when `meta-paused` exists) and `waiting@token` published. The id
 * counter grows by one per job, duplicates included, as Bull's does (one INCRBY for the batch: the
 * same value; the counter is read only for generated ids and delayed jobs, neither of which come
 * here). `opts` is stored as the JSON text Bull stores (Bull msgpacks that text and the script
 * unpacks it again, a round trip that changes nothing).
 *
 * KEYS: wait, paused, meta-paused, id.
 * ARGV: key prefix, queue token, job name, timestamp, then for each job: id, data (JSON), opts (JSON).
 */
const ADD_JOBS_LUA = `
local rcall = redis.call
local prefix, token, name, timestamp = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
rcall("INCRBY", KEYS[4], (#ARGV - 4) / ${ARGS_PER_JOB})
local target = KEYS[1]
if rcall("EXISTS", KEYS[3]) == 1 then target = KEYS[2] end
local waiting = KEYS[1] .. "ing@" .. token
local duplicated = prefix .. "duplicated@" .. token
for i = 5, #ARGV, ${ARGS_PER_JOB} do
  local jobId = ARGV[i]
  local jobKey = prefix .. jobId
  if rcall("EXISTS", jobKey) == 1 then
    rcall("PUBLISH", duplicated, jobId)
  else
    rcall("HMSET", jobKey, "name", name, "data", ARGV[i + 1], "opts", ARGV[i + 2], "timestamp", timestamp, "delay", 0, "priority", 0)
    rcall("LPUSH", target, jobId)
    rcall("PUBLISH", waiting, jobId)
  end
end
return 0`;

/** What this needs of a Bull queue beyond its typings: its key names, its token (in event channels), its limiter and default options. */
interface BullQueueInternals {
  keys: Record<'' | 'wait' | 'paused' | 'meta-paused' | 'id', string>;
  token: string;
  limiter?: { groupKey?: string };
  defaultJobOptions?: Bull.JobOptions;
}

type AddJobsCommand = (wait: string, paused: string, metaPaused: string, id: string, ...args: string[]) => Promise<number>;

/** Default job options that change what addJob-6.lua does (or how Bull builds a job's options): a queue with any of them is left to Bull. */
const UNMIRRORED_DEFAULTS = ['priority', 'lifo', 'delay', 'debounce', 'repeat', 'timestamp', 'jobId'] as const;

export interface ImmediateJob<T> {
  jobId: string;
  data: T;
}

/**
 * Adds immediate jobs to a Bull queue in one round trip and one script run per batch, leaving in
 * Redis what Bull's `addBulk` would leave. Hand-written because Bull has no bulk script: its
 * `addBulk` builds a Job per job (lodash, msgpack of its options) and sends one EVALSHA of
 * addJob-6.lua per job inside a MULTI, which cost the API instance some 55-60 µs of CPU per
 * queued execution (issue 16), and Redis more too. Only what the mirror covers comes here (see
 * `mirrors`); anything else stays with `addBulk`.
 */
export class BullJobAdder<T> {
  private readonly internals: BullQueueInternals;
  /** Whether this queue's settings are the ones the script mirrors (no limiter group key, no default that changes how a job is added). */
  readonly mirrors: boolean;

  constructor(private readonly queue: Bull.Queue<T>) {
    this.internals = queue as unknown as BullQueueInternals;
    const defaults = this.internals.defaultJobOptions ?? {};
    this.mirrors =
      this.internals.limiter?.groupKey === undefined &&
      UNMIRRORED_DEFAULTS.every((option) => (defaults as Record<string, unknown>)[option] === undefined) &&
      (defaults.attempts === undefined || Number.isSafeInteger(defaults.attempts)) &&
      (defaults.backoff === undefined || (typeof defaults.backoff === 'object' && defaults.backoff !== null));
  }

  /** Adds `jobs` (each skipped if its id is in Redis already); resolves once Redis has run the script. */
  async add(jobs: readonly ImmediateJob<T>[]): Promise<void> {
    if (jobs.length === 0) return;
    if (!this.mirrors) throw new Error('This queue has settings the bulk script does not mirror: use addBulk');
    await this.queue.isReady();
    const { keys, token } = this.internals;
    const timestamp = Date.now();
    const opts = this.optionsJson(timestamp);
    const args = [keys[''], token, DEFAULT_JOB_NAME, String(timestamp)];
    for (const job of jobs) args.push(job.jobId, JSON.stringify(job.data), opts(job.jobId));
    await this.command()(keys.wait, keys.paused, keys['meta-paused'], keys.id, ...args);
  }

  /**
   * The JSON Bull stores as a job's `opts`, for a job id: the queue's defaults, the id, then what
   * Bull's Job sets when absent (attempts 1, delay 0, the timestamp), in Bull's key order. The same
   * for the whole batch but for the id, so it is serialised once and the id spliced in.
   */
  private optionsJson(timestamp: number): (jobId: string) => string {
    const defaults = this.internals.defaultJobOptions ?? {};
    const marker = '\u0000jobId\u0000';
    const template = JSON.stringify({ ...defaults, jobId: marker, attempts: defaults.attempts ?? 1, delay: 0, timestamp, backoff: defaults.backoff });
    const [head, tail] = template.split(JSON.stringify(marker));
    return (jobId) => head + JSON.stringify(jobId) + tail;
  }

  /** The script as a command of the queue's client (EVALSHA, EVAL once when Redis does not hold it yet), defined on first use. */
  private command(): AddJobsCommand {
    const client = this.queue.client as Redis & Partial<Record<typeof COMMAND, AddJobsCommand>>;
    if (client[COMMAND] === undefined) client.defineCommand(COMMAND, { numberOfKeys: 4, lua: ADD_JOBS_LUA });
    return (client[COMMAND] as AddJobsCommand).bind(client);
  }
}

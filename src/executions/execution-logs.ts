import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { LogStream } from '@tensorify/executor-sdk';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { ExecutionLogEntity } from './execution.entity';
import { ExecutionBus } from './execution-bus';
import { ExecutionsRepository } from './executions.repository';

export interface LogLine {
  seq: number;
  stream: LogStream;
  line: string;
}

const FLUSH_INTERVAL_MS = 50;
const FLUSH_BATCH = 500;

/**
 * Execution log lines: numbered from 0, written to `execution_logs` in batches (not a write per
 * line), and published at once to live readers (SSE). Past the configured cap the run goes on,
 * one last line says the log was cut, and later lines are dropped.
 */
@Injectable()
export class ExecutionLogs implements OnApplicationShutdown {
  private readonly logger = new Logger(ExecutionLogs.name);
  private readonly counters = new Map<string, number>();
  private pending: ExecutionLogEntity[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly executions: ExecutionsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly bus: ExecutionBus,
  ) {}

  /** Starts numbering a run's lines after the `existing` it already has. */
  open(executionId: string, existing: number): void {
    this.counters.set(executionId, existing);
  }

  /** Appends a line of a running execution (ignored once the cap's notice is written). */
  append(executionId: string, stream: LogStream, line: string): void {
    const seq = this.counters.get(executionId);
    if (seq === undefined) return;
    const cap = this.config.executionLogLines;
    if (seq >= cap) return;
    const entry =
      seq === cap - 1
        ? { stream: 'system' as const, line: `[tensorify] log cut: only the first ${cap - 1} lines of this execution are kept` }
        : { stream, line };
    this.counters.set(executionId, seq + 1);
    this.pending.push(Object.assign(new ExecutionLogEntity(), { executionId, seq, ...entry }));
    this.bus.publish(executionId, { seq, ...entry } satisfies LogLine);
    if (this.pending.length >= FLUSH_BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  /** Stops numbering a finished run; returns how many lines it has. */
  close(executionId: string): number {
    const count = this.counters.get(executionId) ?? 0;
    this.counters.delete(executionId);
    return count;
  }

  /** Writes every pending line; resolves when they are stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      try {
        await this.executions.appendLogs(batch);
      } catch (error) {
        // Live readers got the lines; the stored log misses them. The next batches still go in.
        this.logger.error(`Could not store ${batch.length} log line(s): ${(error as Error).message}`);
      }
    });
    return this.flushing;
  }

  /** Stored lines with `seq` greater than `after`, in order. */
  async read(executionId: string, after = -1): Promise<LogLine[]> {
    await this.flush();
    const rows = await this.executions.readLogs(executionId, after);
    return rows.map(({ seq, stream, line }) => ({ seq, stream: stream as LogStream, line }));
  }

  /**
   * Calls `listener` with each new line of the execution (written by any process of the
   * deployment) and `onEnd` once when it ends, until `unsubscribe`; `ready` resolves once lines
   * written from then on will arrive (read what is stored only after it).
   */
  subscribe(executionId: string, listener: (line: LogLine) => void, onEnd: (status: string) => void): { unsubscribe: () => void; ready: Promise<unknown> } {
    let ended = false;
    return this.bus.subscribe(executionId, (message) => {
      const { end } = message as { end?: string };
      if (end === undefined) listener(message as LogLine);
      else if (!ended) {
        ended = true;
        onEnd(end);
      }
    });
  }

  /** Tells live readers the execution ended with `status` (after its last line is stored). */
  ended(executionId: string, status: string): void {
    this.bus.publish(executionId, { end: status });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.flush();
  }
}

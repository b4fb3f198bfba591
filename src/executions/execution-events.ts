import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { ExecutionStatus, RetryReason } from './execution.entity';

/** An execution left the queue and its program is starting. */
export interface ExecutionStarted {
  executionId: string;
  executor: string;
  /** From the execute request (the row's creation) to the start. */
  queuedMs: number;
}

/** An execution reached its final status in this process. */
export interface ExecutionFinished {
  executionId: string;
  executor: string | null;
  status: ExecutionStatus;
  /** From its start to its end; null when it never started (cancelled while queued, executor missing). */
  runMs: number | null;
}

/** An attempt ended and the next one was queued (once per attempt, by the process that queued it). */
export interface ExecutionRetried {
  executionId: string;
  reason: RetryReason;
  /** The attempt queued. */
  attempt: number;
}

interface Events {
  retried: [ExecutionRetried];
  started: [ExecutionStarted];
  finished: [ExecutionFinished];
}

/**
 * What happens to executions in this process, for observers (metrics) that must not sit in the
 * runner's way: listeners run synchronously and their errors are swallowed.
 */
@Injectable()
export class ExecutionEvents {
  private readonly emitter = new EventEmitter();

  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return () => this.emitter.off(event, listener as (...args: unknown[]) => void);
  }

  emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (...a: Events[E]) => void)(...args);
      } catch {
        // An observer's bug must not fail an execution.
      }
    }
  }
}

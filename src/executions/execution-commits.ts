import { Inject, Injectable } from '@nestjs/common';
import type { ExecutionEntity } from './execution.entity';
import { EXECUTION_QUEUE, type ExecutionQueue, type QueuedExecution } from './execution-queue';
import { ExecutionsRepository, MAX_ROWS_PER_INSERT, type NewExecution } from './executions.repository';

interface Pending {
  fields: NewExecution;
  workspaceLimit: number;
  resolve: (execution: ExecutionEntity) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of new executions (the create path of execute, webhooks, schedules and re-runs).
 * With no commit in flight, a new execution is stored at once, alone: no wait at low load. The
 * ones that arrive while a commit is in flight wait for it, then are stored together, in one
 * multi-row INSERT (one statement, atomic), and queued together (one round trip to Redis). Each
 * caller's promise settles only once its own row is committed (and its job handed to the queue).
 *
 * A batch that fails (a unique violation of one idempotency key fails the whole statement, a
 * duplicate inside the batch included) is stored again one row at a time, so that each caller
 * gets its own row or its own error, exactly as without batching: an innocent request is not
 * failed by another's duplicate key.
 *
 * Hand-written rather than a library's batcher (dataloader and the like): those collect for a
 * tick or a fixed window, which adds latency to a lone request; this batches only what queued up
 * behind the commit in flight.
 */
@Injectable()
export class ExecutionCommits {
  private pending: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly executions: ExecutionsRepository,
    @Inject(EXECUTION_QUEUE) private readonly queue: ExecutionQueue,
  ) {}

  /** Stores a new `queued` execution and queues it; rejects with the store's error (a unique violation for a used idempotency key). */
  commit(fields: NewExecution, workspaceLimit: number): Promise<ExecutionEntity> {
    return new Promise<ExecutionEntity>((resolve, reject) => {
      this.pending.push({ fields, workspaceLimit, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_ROWS_PER_INSERT);
        await this.store(batch).catch((error: unknown) => batch.forEach((item) => item.reject(error)));
      }
    } finally {
      this.flushing = false;
    }
  }

  private async store(batch: Pending[]): Promise<void> {
    let stored: { item: Pending; execution: ExecutionEntity }[];
    try {
      const executions = await this.executions.createMany(batch.map((item) => item.fields));
      stored = batch.map((item, index) => ({ item, execution: executions[index] }));
    } catch (error) {
      if (batch.length === 1) {
        batch[0].reject(error);
        return;
      }
      // All or nothing was stored: each one again on its own, to give each its own answer.
      const singly = await Promise.allSettled(batch.map((item) => this.executions.create(item.fields)));
      stored = [];
      singly.forEach((result, index) => {
        if (result.status === 'fulfilled') stored.push({ item: batch[index], execution: result.value });
        else batch[index].reject(result.reason);
      });
    }
    this.queue.enqueueMany(
      stored.map(({ item }): QueuedExecution => ({ executionId: item.fields.id, workspaceId: item.fields.workspaceId, workspaceLimit: item.workspaceLimit })),
    );
    for (const { item, execution } of stored) item.resolve(execution);
  }
}

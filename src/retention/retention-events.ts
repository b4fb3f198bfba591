import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/** Rows one batch of the retention job removed, by table. */
export interface RowsPruned {
  executions: number;
  logLines: number;
}

/** Pruning in this process, for observers (metrics): listeners run synchronously and their errors are swallowed. */
@Injectable()
export class RetentionEvents {
  private readonly emitter = new EventEmitter();

  on(listener: (event: RowsPruned) => void): () => void {
    this.emitter.on('pruned', listener);
    return () => this.emitter.off('pruned', listener);
  }

  emit(event: RowsPruned): void {
    for (const listener of this.emitter.listeners('pruned') as ((event: RowsPruned) => void)[]) {
      try {
        listener(event);
      } catch {
        // An observer's failure is not the job's.
      }
    }
  }
}

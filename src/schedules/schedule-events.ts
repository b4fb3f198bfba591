import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/**
 * What became of a fire time in this process: `started` (it created the execution), `deduplicated`
 * (another process had created it: the idempotency key), `failed` (the execute was refused, e.g. no
 * executor), `missed_skipped` / `missed_run_once` (one catch-up of the fire times that passed while no
 * server ran, by the schedule's `missed` policy; a run-once's run also counts as `started`).
 */
export const FIRE_OUTCOMES = ['started', 'deduplicated', 'failed', 'missed_skipped', 'missed_run_once'] as const;
export type FireOutcome = (typeof FIRE_OUTCOMES)[number];

export interface ScheduleFired {
  workflowId: string;
  outcome: FireOutcome;
}

/** Schedule fires in this process, for observers (metrics): listeners run synchronously and their errors are swallowed. */
@Injectable()
export class ScheduleEvents {
  private readonly emitter = new EventEmitter();

  on(listener: (event: ScheduleFired) => void): () => void {
    this.emitter.on('fired', listener);
    return () => this.emitter.off('fired', listener);
  }

  emit(event: ScheduleFired): void {
    for (const listener of this.emitter.listeners('fired') as ((event: ScheduleFired) => void)[]) {
      try {
        listener(event);
      } catch {
        // An observer's failure is not the scheduler's.
      }
    }
  }
}

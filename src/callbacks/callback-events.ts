import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/** How a callback attempt ended: the `outcome` label of `tensorify_callbacks_total`. */
export const CALLBACK_OUTCOMES = [
  /** A 2xx answer. */
  'delivered',
  /** A non-2xx answer, a timeout or a connection error, with time left to retry. */
  'retrying',
  /** The same, past 24 hours of retries: given up. */
  'failed',
  /** The URL now points at a forbidden address (checked before each try and at connect time): retried like a failure, in case DNS changes back. */
  'refused',
] as const;
export type CallbackOutcome = (typeof CALLBACK_OUTCOMES)[number];

/** Callback attempts as they end, for observers (metrics); listeners' errors are swallowed. */
@Injectable()
export class CallbackEvents {
  private readonly emitter = new EventEmitter();

  onAttempt(listener: (outcome: CallbackOutcome) => void): () => void {
    this.emitter.on('attempt', listener);
    return () => this.emitter.off('attempt', listener);
  }

  attempted(outcome: CallbackOutcome): void {
    for (const listener of this.emitter.listeners('attempt')) {
      try {
        (listener as (outcome: CallbackOutcome) => void)(outcome);
      } catch {
        // An observer's failure is not the delivery's.
      }
    }
  }
}

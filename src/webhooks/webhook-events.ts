import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/** How a delivery to `/v1/hooks/:hookId` ended: the `outcome` label of `tensorify_webhook_deliveries_total`. */
export const DELIVERY_OUTCOMES = [
  /** `ack`: 202, queued. */
  'accepted',
  /** 202 or 200: a redelivery (same Idempotency-Key / X-GitHub-Delivery) answered with the first execution. */
  'duplicate',
  /** `wait`: 200 with the output. */
  'completed',
  /** `wait`: 502 EXECUTION_FAILED (failed, timed out or cancelled). */
  'failed',
  /** `wait`: 202, still running at the deadline. */
  'pending',
  'unauthorized',
  'not_found',
  'method_not_allowed',
  'rate_limited',
  /** Any other 4xx: a body too large, not decodable, or holding what cannot be stored. */
  'invalid',
  /** 5xx other than 502: the server could not take it (database, executor…). */
  'error',
] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** Deliveries as they end, for observers (metrics); listeners' errors are swallowed. */
@Injectable()
export class WebhookEvents {
  private readonly emitter = new EventEmitter();

  onDelivery(listener: (outcome: DeliveryOutcome) => void): () => void {
    this.emitter.on('delivery', listener);
    return () => this.emitter.off('delivery', listener);
  }

  delivered(outcome: DeliveryOutcome): void {
    for (const listener of this.emitter.listeners('delivery')) {
      try {
        (listener as (outcome: DeliveryOutcome) => void)(outcome);
      } catch {
        // An observer's bug must not fail a delivery.
      }
    }
  }
}

/** What started an execution: a request to `POST /v1/workflows/:id/execute`, a webhook delivery or a schedule's fire time. */
export const TRIGGER_TYPES = ['api', 'webhook', 'schedule'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

export type ExecutionTrigger =
  | { type: 'api' }
  /** A delivery to `/v1/hooks/:hookId`. */
  | { type: 'webhook'; hookId: string }
  /** A schedule's fire time (ISO-8601, UTC): the time the cron named, not the time it ran. */
  | { type: 'schedule'; fireTime: string };

export const API_TRIGGER: ExecutionTrigger = Object.freeze({ type: 'api' });

/** What started an execution: a request to `POST /v1/workflows/:id/execute`, a webhook delivery, a schedule's fire time or a re-run of an execution. */
export const TRIGGER_TYPES = ['api', 'webhook', 'schedule', 'rerun'] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

export type ExecutionTrigger =
  | { type: 'api' }
  /** A delivery to `/v1/hooks/:hookId`. */
  | { type: 'webhook'; hookId: string }
  /** A schedule's fire time (ISO-8601, UTC): the time the cron named, not the time it ran. */
  | { type: 'schedule'; fireTime: string }
  /** `POST /v1/executions/:id/rerun` of that execution. */
  | { type: 'rerun'; executionId: string };

export const API_TRIGGER: ExecutionTrigger = Object.freeze({ type: 'api' });

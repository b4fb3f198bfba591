import type { AppConfig } from '../config/config';
import type { Plan } from '../plans/plans';

/** Executions a workspace may have running at once, by plan (`enterprise` from config). */
export const PLAN_CONCURRENT_EXECUTIONS: Record<Exclude<Plan, 'enterprise'>, number> = { free: 2, pro: 10 };

/** Executions a workspace of this plan may run at once. */
export function workspaceConcurrency(plan: Plan, config: Pick<AppConfig, 'enterpriseConcurrentExecutions'>): number {
  return plan === 'enterprise' ? config.enterpriseConcurrentExecutions : PLAN_CONCURRENT_EXECUTIONS[plan];
}

export const PLANS = ['free', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

/** Requests per minute of each plan; `enterprise` has a number of its own (or the configured default). */
export const PLAN_RATE_LIMITS: Record<Exclude<Plan, 'enterprise'>, number> = { free: 60, pro: 300 };

/** Days a finished execution is kept, by plan, unless its workspace has `retentionDays` of its own. */
export const PLAN_RETENTION_DAYS: Record<Plan, number> = { free: 7, pro: 30, enterprise: 90 };
export const MAX_RETENTION_DAYS = 3650;

export function retentionDays(workspace: { plan: Plan; retentionDays: number | null }): number {
  return workspace.retentionDays ?? PLAN_RETENTION_DAYS[workspace.plan];
}

export function rateLimitPerMinute(workspace: { plan: Plan; rateLimitPerMinute: number | null }, enterpriseDefault: number): number {
  return workspace.plan === 'enterprise' ? (workspace.rateLimitPerMinute ?? enterpriseDefault) : PLAN_RATE_LIMITS[workspace.plan];
}

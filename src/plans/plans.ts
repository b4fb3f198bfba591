export const PLANS = ['free', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

/** Requests per minute of each plan; `enterprise` has a number of its own (or the configured default). */
export const PLAN_RATE_LIMITS: Record<Exclude<Plan, 'enterprise'>, number> = { free: 60, pro: 300 };

export function rateLimitPerMinute(workspace: { plan: Plan; rateLimitPerMinute: number | null }, enterpriseDefault: number): number {
  return workspace.plan === 'enterprise' ? (workspace.rateLimitPerMinute ?? enterpriseDefault) : PLAN_RATE_LIMITS[workspace.plan];
}

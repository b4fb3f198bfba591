export const SCOPES = ['workflows:read', 'workflows:write', 'executions:read', 'executions:run', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** `admin` holds every scope. */
export function hasScope(granted: readonly Scope[], required: Scope): boolean {
  return granted.includes('admin') || granted.includes(required);
}

/**
 * How a failure to start is told to a person: an operational error (a system or database error
 * with a code, such as ECONNREFUSED or a PostgreSQL SQLSTATE) as its message alone; anything
 * else with its stack, since it is a bug.
 */
export function describeStartupFailure(error: unknown): string {
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') return error.message;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

import { QueryFailedError } from 'typeorm';

/** Driver error codes that mean "the database cannot serve this now", not "this request is wrong". */
const UNAVAILABLE_CODES = new Set([
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE'], // the network
  ...['57P01', '57P02', '57P03', '53300'], // PostgreSQL: shutting down, cannot connect now, too many connections
  ...['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_IOERR', 'SQLITE_FULL'],
]);

/** True when a query failed because the database is unreachable, locked or out of resources. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = ((error instanceof QueryFailedError ? error.driverError : error) as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return false;
  return UNAVAILABLE_CODES.has(code) || code.startsWith('08'); // SQLSTATE class 08: connection exception
}

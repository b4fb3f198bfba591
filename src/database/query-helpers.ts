import { QueryFailedError, SelectQueryBuilder } from 'typeorm';
import { decodeCursor } from '../common/pagination';

/** True for a UNIQUE constraint violation on SQLite or PostgreSQL. */
export function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; message?: string };
  return driverError.code === '23505' || (driverError.code === 'SQLITE_CONSTRAINT' && /UNIQUE/i.test(driverError.message ?? ''));
}

/** Driver error codes that mean "the database cannot serve this now", not "this request is wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE', // the network
  '57P01',
  '57P02',
  '57P03',
  '53300', // PostgreSQL: shutting down, cannot connect now, too many connections
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_FULL',
]);

/** True when a query failed because the database is unreachable, locked or out of resources. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = ((error instanceof QueryFailedError ? error.driverError : error) as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return false;
  return UNAVAILABLE_CODES.has(code) || code.startsWith('08'); // SQLSTATE class 08: connection exception
}

/**
 * Newest-first keyset pagination over (created_at, id): fetches `limit + 1` rows after the
 * cursor, so `toPage` can tell whether another page follows.
 */
export function pageAfter<T extends object>(query: SelectQueryBuilder<T>, alias: string, limit: number, cursor?: string): SelectQueryBuilder<T> {
  if (cursor) {
    const position = decodeCursor(cursor);
    query.andWhere(`(${alias}.createdAt < :cursorAt OR (${alias}.createdAt = :cursorAt AND ${alias}.id < :cursorId))`, {
      cursorAt: position.createdAt.toISOString(),
      cursorId: position.id,
    });
  }
  return query
    .orderBy(`${alias}.createdAt`, 'DESC')
    .addOrderBy(`${alias}.id`, 'DESC')
    .limit(limit + 1);
}

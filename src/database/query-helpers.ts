import { QueryFailedError, SelectQueryBuilder } from 'typeorm';
import { decodeCursor } from '../common/pagination';

/** True for a UNIQUE constraint violation on SQLite or PostgreSQL. */
export function isUniqueViolation(error: unknown): boolean {
  return isConstraintViolation(error, '23505', /UNIQUE/i);
}

/** True for a FOREIGN KEY constraint violation on SQLite or PostgreSQL. */
export function isForeignKeyViolation(error: unknown): boolean {
  return isConstraintViolation(error, '23503', /FOREIGN KEY/i);
}

/** PostgreSQL tells the constraint by its SQLSTATE; SQLite has one code for all and names the kind in its message. */
function isConstraintViolation(error: unknown, sqlState: string, sqliteKind: RegExp): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: string; message?: string };
  return driverError.code === sqlState || (driverError.code === 'SQLITE_CONSTRAINT' && sqliteKind.test(driverError.message ?? ''));
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

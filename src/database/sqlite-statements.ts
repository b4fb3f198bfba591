import { LRUCache } from 'lru-cache';
import type { Database, Statement } from 'sqlite3';
import { type DataSource, QueryFailedError } from 'typeorm';
import type { AbstractSqliteDriver } from 'typeorm/driver/sqlite-abstract/AbstractSqliteDriver';

/** Statements kept prepared per connection, by text: a write on the request path has a few shapes (a batch's size, its NULLs, what its rows share). */
const KEPT_PER_CONNECTION = 64;

interface Kept {
  /** Each statement as it is prepared: a text prepared once, by the first run that needs it, and run by all. */
  statements: LRUCache<string, Promise<Statement>>;
  /** The connection is closing: a run goes through the query runner, and keeps nothing. */
  closing: boolean;
}

const keptByConnection = new WeakMap<Database, Kept>();

/**
 * Runs a write (INSERT, UPDATE, DELETE) on the data source's SQLite connection as a statement kept
 * prepared for the next run of the same text. TypeORM's query runner hands each query to sqlite3's
 * `Database#run`, which prepares it, runs it and finalizes it: three trips through the thread pool,
 * and a parse of the whole text (a 30-row INSERT is 1,000 values) each time. A kept statement is
 * bound and run in one trip. It runs on the one connection TypeORM's SQLite driver has, so inside
 * its transaction when one is open, as the query runner's queries do; the data source's logger
 * hears it as it starts, and a failure is TypeORM's QueryFailedError with the driver's error, as
 * from `DataSource#query`. (The query runner's BeforeQuery/AfterQuery broadcasts to entity
 * subscribers are not made: the server registers none.)
 *
 * sqlite3's `Database#close` refuses to close while a statement is not finalized (sqlite3_close,
 * not close_v2), and TypeORM offers no hook before it closes the connection: so the connection's
 * `close` is wrapped, once, to finalize the kept statements first; a write that comes after goes
 * through the query runner, which fails as any query on a closed data source.
 */
export async function runKeptStatement(dataSource: DataSource, sql: string, values: readonly unknown[]): Promise<void> {
  const kept = keptStatementsOf(dataSource);
  if (kept.closing) {
    await dataSource.query(sql, values as unknown[]);
    return;
  }
  let prepared = kept.statements.get(sql);
  if (prepared === undefined) {
    prepared = prepare(dataSource, sql);
    kept.statements.set(sql, prepared);
  }
  dataSource.logger.logQuery(sql, values as unknown[]);
  let statement: Statement;
  try {
    statement = await prepared;
  } catch (error) {
    // A statement that did not prepare (sqlite3 has finalized it) is not kept: the next run prepares it again.
    if (kept.statements.peek(sql) === prepared) kept.statements.delete(sql);
    throw new QueryFailedError(sql, values as unknown[], error as Error);
  }
  await new Promise<void>((resolve, reject) => {
    // The values as arguments, not one array: sqlite3 reads an array's items one by one through N-API, which costs
    // more than binding them (it takes them so when the first is not an object: they are strings, numbers and NULLs).
    statement.run(...values, (error: Error | null) => (error ? reject(new QueryFailedError(sql, values as unknown[], error)) : resolve()));
  });
}

function prepare(dataSource: DataSource, sql: string): Promise<Statement> {
  const connection = (dataSource.driver as AbstractSqliteDriver).databaseConnection as Database;
  return new Promise<Statement>((resolve, reject) => {
    // With a callback: sqlite3 reports a failed prepare there only (runs queued on the statement are dropped unanswered).
    const statement = connection.prepare(sql, (error: Error | null) => (error ? reject(error) : resolve(statement)));
  });
}

function keptStatementsOf(dataSource: DataSource): Kept {
  const connection = (dataSource.driver as AbstractSqliteDriver).databaseConnection as Database;
  const known = keptByConnection.get(connection);
  if (known !== undefined) return known;
  /** Statements dropped from the cache, still being finalized: the connection closes once they are. */
  const finalizing = new Set<Promise<void>>();
  const kept: Kept = {
    statements: new LRUCache<string, Promise<Statement>>({
      max: KEPT_PER_CONNECTION,
      // Finalized once the runs queued on it are done (sqlite3 queues them in order); one that did not prepare is finalized already.
      dispose: (prepared) => {
        const finalized = prepared.then(
          (statement) => new Promise<void>((resolve) => statement.finalize(() => resolve())),
          () => undefined,
        );
        finalizing.add(finalized);
        void finalized.then(() => finalizing.delete(finalized));
      },
    }),
    closing: false,
  };
  const close = connection.close.bind(connection);
  connection.close = (callback?: (error: Error | null) => void) => {
    kept.closing = true;
    kept.statements.clear();
    void Promise.all(finalizing).then(() => close(callback));
    return connection;
  };
  keptByConnection.set(connection, kept);
  return kept;
}

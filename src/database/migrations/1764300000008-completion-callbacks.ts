import { MigrationInterface, QueryRunner, Table, TableColumn, TableIndex } from 'typeorm';
import { TIMESTAMP_LENGTH } from '../columns';

const id = (name: string) => ({ name, type: 'varchar', length: '32' });
const timestamp = (name: string, isNullable = false) => ({ name, type: 'varchar', length: String(TIMESTAMP_LENGTH), isNullable });
const TERMINAL = `('completed', 'failed', 'cancelled', 'timed_out')`;

/**
 * Completion callbacks (the `callbacks` module).
 *
 * - `executions.callback_url`: where to POST when the execution ends (null: nowhere).
 * - `callback_deliveries`, the outbox: one row per execution with a callback, `pending` until
 *   delivered or given up. A database trigger on `executions` inserts it when a row with a
 *   `callback_url` reaches a terminal status, so the row is written in the very statement (and
 *   transaction) that ends the execution, on every path that ends one, and no code of the
 *   executions module has to know the callbacks module. `lease_until` is the claim: a process
 *   takes a due row with a conditional UPDATE, so two never send one delivery at once.
 * - `callback_attempts`: each try, for `GET /v1/executions/:id/callbacks`.
 * - `workspace_signing_secrets`: each workspace's signing secret, sealed (AES-256-GCM, SecretBox).
 */
export class CompletionCallbacks1764300000008 implements MigrationInterface {
  name = 'CompletionCallbacks1764300000008';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('executions', new TableColumn({ name: 'callback_url', type: 'varchar', length: '2048', isNullable: true }));
    await queryRunner.createTable(
      new Table({
        name: 'callback_deliveries',
        columns: [
          { ...id('execution_id'), isPrimary: true },
          id('workspace_id'),
          { name: 'url', type: 'varchar', length: '2048' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'attempts', type: 'integer', default: 0 },
          timestamp('created_at'),
          timestamp('next_attempt_at'),
          timestamp('lease_until', true),
          timestamp('completed_at', true),
        ],
        foreignKeys: [{ columnNames: ['execution_id'], referencedTableName: 'executions', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
        indices: [new TableIndex({ name: 'idx_callback_deliveries_due', columnNames: ['status', 'next_attempt_at'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'callback_attempts',
        columns: [
          { ...id('execution_id'), isPrimary: true },
          { name: 'attempt', type: 'integer', isPrimary: true },
          timestamp('started_at'),
          { name: 'duration_ms', type: 'integer' },
          { name: 'status_code', type: 'integer', isNullable: true },
          { name: 'error', type: 'text', isNullable: true },
          { name: 'outcome', type: 'varchar', length: '16' },
        ],
        foreignKeys: [{ columnNames: ['execution_id'], referencedTableName: 'executions', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'workspace_signing_secrets',
        columns: [{ ...id('workspace_id'), isPrimary: true }, { name: 'secret', type: 'text' }, timestamp('created_at')],
        foreignKeys: [{ columnNames: ['workspace_id'], referencedTableName: 'workspaces', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      }),
    );
    const when = `NEW.callback_url IS NOT NULL AND NEW.status IN ${TERMINAL} AND OLD.status NOT IN ${TERMINAL}`;
    const insert = (verb: string, conflict: string) =>
      `${verb} INTO callback_deliveries (execution_id, workspace_id, url, status, attempts, created_at, next_attempt_at) ` +
      `VALUES (NEW.id, NEW.workspace_id, NEW.callback_url, 'pending', 0, COALESCE(NEW.completed_at, NEW.created_at), COALESCE(NEW.completed_at, NEW.created_at)) ${conflict}`;
    if (queryRunner.connection.options.type === 'postgres') {
      await queryRunner.query(
        `CREATE FUNCTION callback_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${insert('INSERT', 'ON CONFLICT (execution_id) DO NOTHING')}; RETURN NEW; END $$`,
      );
      await queryRunner.query(
        `CREATE TRIGGER trg_callback_outbox AFTER UPDATE OF status ON executions FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION callback_outbox()`,
      );
    } else {
      await queryRunner.query(
        `CREATE TRIGGER trg_callback_outbox AFTER UPDATE OF status ON executions FOR EACH ROW WHEN ${when} BEGIN ${insert('INSERT OR IGNORE', '')}; END`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER IF EXISTS trg_callback_outbox${queryRunner.connection.options.type === 'postgres' ? ' ON executions' : ''}`);
    if (queryRunner.connection.options.type === 'postgres') await queryRunner.query(`DROP FUNCTION IF EXISTS callback_outbox()`);
    await queryRunner.dropTable('workspace_signing_secrets');
    await queryRunner.dropTable('callback_attempts');
    await queryRunner.dropTable('callback_deliveries');
    await queryRunner.dropColumn('executions', 'callback_url');
  }
}

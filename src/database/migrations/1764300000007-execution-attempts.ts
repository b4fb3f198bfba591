import { MigrationInterface, QueryRunner, Table, TableColumn } from 'typeorm';
import { TIMESTAMP_LENGTH } from '../columns';

const timestamp = (name: string, isNullable = false) => ({ name, type: 'varchar', length: String(TIMESTAMP_LENGTH), isNullable });

/**
 * Retries: each execution has its retry policy (`max_attempts`, `retry_backoff_seconds`, `retry_on`,
 * a comma-separated list of reasons), the attempt it is at (`attempt`, from 1) and, while it waits
 * for its next attempt, when that one may start (`next_attempt_at`). `execution_attempts` keeps the
 * attempts that ended and were followed by another one; the current attempt is the row itself.
 * Rows from before ran once: 1 of 1.
 */
export class ExecutionAttempts1764300000007 implements MigrationInterface {
  name = 'ExecutionAttempts1764300000007';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('executions', [
      new TableColumn({ name: 'attempt', type: 'integer', isNullable: false, default: 1 }),
      new TableColumn({ name: 'max_attempts', type: 'integer', isNullable: false, default: 1 }),
      new TableColumn({ name: 'retry_backoff_seconds', type: 'integer', isNullable: false, default: 10 }),
      new TableColumn({ name: 'retry_on', type: 'varchar', length: '64', isNullable: false, default: "'failed,timed_out,worker_lost'" }),
      new TableColumn({ ...timestamp('next_attempt_at', true) }),
    ]);
    await queryRunner.createTable(
      new Table({
        name: 'execution_attempts',
        columns: [
          { name: 'execution_id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'attempt', type: 'integer', isPrimary: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'error_code', type: 'varchar', length: '32', isNullable: true },
          { name: 'error_message', type: 'text', isNullable: true },
          timestamp('started_at', true),
          timestamp('completed_at'),
        ],
        foreignKeys: [{ columnNames: ['execution_id'], referencedTableName: 'executions', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('execution_attempts');
    await queryRunner.dropColumns('executions', ['next_attempt_at', 'retry_on', 'retry_backoff_seconds', 'max_attempts', 'attempt']);
  }
}

import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { TIMESTAMP_LENGTH } from '../columns';

const id = (name = 'id') => ({ name, type: 'varchar', length: '32' });
const timestamp = (name: string, isNullable = false) => ({ name, type: 'varchar', length: String(TIMESTAMP_LENGTH), isNullable });

/**
 * Executions and their log lines. An execution keeps the files it runs (so a run and its logs
 * outlive the workflow), and its idempotency key is unique per workspace.
 */
export class Executions1764300000002 implements MigrationInterface {
  name = 'Executions1764300000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'executions',
        columns: [
          { ...id(), isPrimary: true },
          id('workspace_id'),
          id('workflow_id'),
          { name: 'workflow_version', type: 'integer' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'executor', type: 'varchar', length: '64', isNullable: true },
          { name: 'gpu', type: 'boolean' },
          { name: 'inputs', type: 'text' },
          { name: 'timeout_seconds', type: 'integer' },
          { name: 'files', type: 'text' },
          { name: 'output', type: 'text', isNullable: true },
          { name: 'exit_code', type: 'integer', isNullable: true },
          { name: 'error_code', type: 'varchar', length: '32', isNullable: true },
          { name: 'error_message', type: 'text', isNullable: true },
          { name: 'external_id', type: 'varchar', length: '200', isNullable: true },
          { name: 'log_count', type: 'integer', default: 0 },
          { name: 'idempotency_key', type: 'varchar', length: '255', isNullable: true },
          { name: 'request_hash', type: 'varchar', length: '64', isNullable: true },
          timestamp('created_at'),
          timestamp('started_at', true),
          timestamp('completed_at', true),
          timestamp('cancel_requested_at', true),
        ],
        foreignKeys: [{ columnNames: ['workspace_id'], referencedTableName: 'workspaces', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
        indices: [
          new TableIndex({ name: 'idx_executions_workspace_created', columnNames: ['workspace_id', 'created_at', 'id'] }),
          new TableIndex({ name: 'idx_executions_status', columnNames: ['status'] }),
          new TableIndex({ name: 'uq_executions_idempotency', columnNames: ['workspace_id', 'idempotency_key'], isUnique: true }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'execution_logs',
        columns: [
          { name: 'execution_id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'seq', type: 'integer', isPrimary: true },
          { name: 'stream', type: 'varchar', length: '8' },
          { name: 'line', type: 'text' },
        ],
        foreignKeys: [{ columnNames: ['execution_id'], referencedTableName: 'executions', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('execution_logs');
    await queryRunner.dropTable('executions');
  }
}

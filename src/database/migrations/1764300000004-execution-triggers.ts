import { MigrationInterface, QueryRunner, TableColumn, TableIndex } from 'typeorm';

/**
 * What started each execution: `trigger_type` (`api`, `webhook`, `schedule`) to filter on, and
 * `trigger`, the JSON the API shows (`{"type": "webhook", "hookId": …}`). Rows from before are `api`.
 */
export class ExecutionTriggers1764300000004 implements MigrationInterface {
  name = 'ExecutionTriggers1764300000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('executions', [
      new TableColumn({ name: 'trigger_type', type: 'varchar', length: '16', isNullable: false, default: "'api'" }),
      new TableColumn({ name: 'trigger', type: 'text', isNullable: true }),
    ]);
    await queryRunner.createIndex(
      'executions',
      new TableIndex({ name: 'idx_executions_workspace_trigger', columnNames: ['workspace_id', 'trigger_type', 'created_at', 'id'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('executions', 'idx_executions_workspace_trigger');
    await queryRunner.dropColumns('executions', ['trigger', 'trigger_type']);
  }
}

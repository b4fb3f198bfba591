import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/**
 * Retention: `workspaces.retention_days`, how many days a finished execution is kept (null: the
 * plan's default). Executions are found for pruning through `idx_executions_workspace_created`
 * (workspace, created_at, id), so no index is added. The SQLite file's incremental vacuum is not a
 * migration's business: `auto_vacuum` cannot change inside the transaction a migration runs in
 * (see `enableIncrementalVacuum`).
 */
export class Retention1764300000009 implements MigrationInterface {
  name = 'Retention1764300000009';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('workspaces', new TableColumn({ name: 'retention_days', type: 'integer', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('workspaces', 'retention_days');
  }
}

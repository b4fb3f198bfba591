import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { TIMESTAMP_LENGTH } from '../columns';

/**
 * The hooks of webhook-triggered workflows: one per workflow at most, its id the public
 * `/v1/hooks/:hookId`, its secret encrypted at rest (AES-256-GCM, see src/webhooks/secret-box.ts).
 * Deleting the workflow (or its workspace) deletes its hook in the same statement.
 */
export class Webhooks1764300000005 implements MigrationInterface {
  name = 'Webhooks1764300000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'hooks',
        columns: [
          { name: 'id', type: 'varchar', length: '32', isPrimary: true },
          { name: 'workspace_id', type: 'varchar', length: '32' },
          { name: 'workflow_id', type: 'varchar', length: '32', isUnique: true },
          { name: 'secret', type: 'text' },
          { name: 'created_at', type: 'varchar', length: String(TIMESTAMP_LENGTH) },
        ],
        foreignKeys: [
          { columnNames: ['workspace_id'], referencedTableName: 'workspaces', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
          { columnNames: ['workflow_id'], referencedTableName: 'workflows', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('hooks');
  }
}

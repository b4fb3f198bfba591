import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { TIMESTAMP_LENGTH } from '../columns';

const id = (name = 'id') => ({ name, type: 'varchar', length: '32' });
const timestamp = (name: string, isNullable = false) => ({ name, type: 'varchar', length: String(TIMESTAMP_LENGTH), isNullable });

/** Workspaces, API keys and workflows. Written with TypeORM's schema builder so it runs on SQLite and PostgreSQL alike. */
export class InitialSchema1764300000000 implements MigrationInterface {
  name = 'InitialSchema1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'workspaces',
        columns: [
          { ...id(), isPrimary: true },
          { name: 'name', type: 'varchar', length: '200', isUnique: true },
          { name: 'plan', type: 'varchar', length: '16' },
          { name: 'rate_limit_per_minute', type: 'integer', isNullable: true },
          timestamp('created_at'),
          timestamp('updated_at'),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          { ...id(), isPrimary: true },
          id('workspace_id'),
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'prefix', type: 'varchar', length: '16' },
          { name: 'secret_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'scopes', type: 'text' },
          timestamp('created_at'),
          timestamp('expires_at', true),
          timestamp('revoked_at', true),
          timestamp('last_used_at', true),
        ],
        foreignKeys: [{ columnNames: ['workspace_id'], referencedTableName: 'workspaces', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
        indices: [new TableIndex({ name: 'idx_api_keys_workspace_created', columnNames: ['workspace_id', 'created_at', 'id'] })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'workflows',
        columns: [
          { ...id(), isPrimary: true },
          id('workspace_id'),
          { name: 'name', type: 'varchar', length: '200' },
          { name: 'description', type: 'text' },
          { name: 'version', type: 'integer' },
          { name: 'nodes', type: 'text' },
          { name: 'edges', type: 'text' },
          timestamp('created_at'),
          timestamp('updated_at'),
        ],
        foreignKeys: [{ columnNames: ['workspace_id'], referencedTableName: 'workspaces', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
        indices: [new TableIndex({ name: 'idx_workflows_workspace_created', columnNames: ['workspace_id', 'created_at', 'id'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('workflows');
    await queryRunner.dropTable('api_keys');
    await queryRunner.dropTable('workspaces');
  }
}

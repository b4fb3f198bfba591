import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { TIMESTAMP_LENGTH } from '../columns';

const id = (name: string) => ({ name, type: 'varchar', length: '32' });
const timestamp = (name: string, isNullable = false) => ({ name, type: 'varchar', length: String(TIMESTAMP_LENGTH), isNullable });

/**
 * `schedules`: one row per workflow whose trigger is a `schedule` node, kept in step with the
 * workflow on every save and gone with it (ON DELETE CASCADE). `next_fire_at` is the next fire
 * time not yet handled, shared by every process: the one that handles it moves it on with a
 * conditional UPDATE. A `schedules` counter in `cache_revisions` tells other processes to re-arm.
 */
export class Schedules1764300000006 implements MigrationInterface {
  name = 'Schedules1764300000006';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'schedules',
        columns: [
          { ...id('workflow_id'), isPrimary: true },
          id('workspace_id'),
          { name: 'cron', type: 'varchar', length: '200' },
          { name: 'timezone', type: 'varchar', length: '64' },
          { name: 'inputs', type: 'text' },
          { name: 'missed', type: 'varchar', length: '16' },
          { name: 'paused', type: 'boolean', default: false },
          timestamp('next_fire_at', true),
          timestamp('last_run_at', true),
          { ...id('last_execution_id'), isNullable: true },
          timestamp('created_at'),
          timestamp('updated_at'),
        ],
        foreignKeys: [
          { columnNames: ['workflow_id'], referencedTableName: 'workflows', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
          { columnNames: ['workspace_id'], referencedTableName: 'workspaces', referencedColumnNames: ['id'], onDelete: 'CASCADE' },
        ],
        indices: [new TableIndex({ name: 'idx_schedules_due', columnNames: ['paused', 'next_fire_at'] })],
      }),
    );
    await queryRunner.query(`INSERT INTO cache_revisions (name, revision) VALUES ('schedules', 0)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM cache_revisions WHERE name = 'schedules'`);
    await queryRunner.dropTable('schedules');
  }
}

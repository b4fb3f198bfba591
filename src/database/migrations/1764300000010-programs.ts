import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import { TIMESTAMP_LENGTH } from '../columns';

/**
 * Programs: the compiled files of a workflow version, stored once in `programs` (id: a hash of
 * the workspace and the files) instead of in every execution row, which now names its program
 * in `executions.program_id`. Rows from before keep their own `files` and no program (readers take
 * either); new rows hold '' in `files`. Nothing is copied: the table may be big.
 *
 * Safe on a big `executions` table: adding a nullable column without a default changes the schema
 * only (SQLite and PostgreSQL alike, no rewrite); on PostgreSQL its foreign key is added NOT VALID
 * (every existing row is NULL, so nothing to check, and no scan). The index on `program_id` (which
 * the retention job's orphan check and the foreign key's checks look up) is built with one scan of
 * the rows (PostgreSQL reads the main rows, not the TOASTed files), which holds off writes to
 * `executions` (not reads) while it runs; CREATE INDEX CONCURRENTLY is not used because another
 * instance waiting for the migration lock holds a snapshot it would wait for, for ever. Hence no
 * transaction around the whole: each statement commits on its own, so the ALTER's exclusive lock
 * lasts one instant, and each is skipped when already done, so a migration cut short runs again.
 */
export class Programs1764300000010 implements MigrationInterface {
  name = 'Programs1764300000010';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'programs',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'workspace_id', type: 'varchar', length: '32' },
          { name: 'workflow_id', type: 'varchar', length: '32' },
          { name: 'workflow_version', type: 'integer' },
          { name: 'files', type: 'text' },
          { name: 'created_at', type: 'varchar', length: String(TIMESTAMP_LENGTH) },
        ],
        foreignKeys: [{ columnNames: ['workspace_id'], referencedTableName: 'workspaces', referencedColumnNames: ['id'], onDelete: 'CASCADE' }],
      }),
      true,
    );
    await queryRunner.query('CREATE INDEX IF NOT EXISTS idx_programs_workspace ON programs (workspace_id, workflow_id, workflow_version)');
    if (!(await queryRunner.hasColumn('executions', 'program_id'))) {
      await queryRunner.query(
        queryRunner.connection.options.type === 'postgres'
          ? 'ALTER TABLE executions ADD COLUMN program_id varchar(64), ADD CONSTRAINT fk_executions_program FOREIGN KEY (program_id) REFERENCES programs (id) NOT VALID'
          : 'ALTER TABLE executions ADD COLUMN program_id varchar(64) REFERENCES programs (id)',
      );
    }
    await queryRunner.query('CREATE INDEX IF NOT EXISTS idx_executions_program ON executions (program_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Each row gets its program's files back before the programs go.
    await queryRunner.query('UPDATE executions SET files = (SELECT p.files FROM programs p WHERE p.id = executions.program_id) WHERE program_id IS NOT NULL');
    await queryRunner.query('DROP INDEX IF EXISTS idx_executions_program');
    await queryRunner.dropColumn('executions', 'program_id');
    await queryRunner.dropTable('programs');
  }
}

import { MigrationInterface, QueryRunner, Table } from 'typeorm';

/**
 * `cache_revisions`: one counter per in-memory cache (API keys, workflows). A write that can make a
 * cached entry stale increments its counter in the same transaction; every instance polls the
 * counters and drops its cache when one moves.
 */
export class CacheRevisions1764300000001 implements MigrationInterface {
  name = 'CacheRevisions1764300000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'cache_revisions',
        columns: [
          { name: 'name', type: 'varchar', length: '32', isPrimary: true },
          { name: 'revision', type: 'integer', default: 0 },
        ],
      }),
    );
    await queryRunner.query(`INSERT INTO cache_revisions (name, revision) VALUES ('auth', 0), ('workflows', 0)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('cache_revisions');
  }
}

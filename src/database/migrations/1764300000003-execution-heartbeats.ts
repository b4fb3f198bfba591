import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { TIMESTAMP_LENGTH } from '../columns';

/**
 * The distributed mode's liveness of a running execution: its worker stamps `heartbeat_at`
 * while it runs; one not stamped for the stall interval ends WORKER_LOST.
 */
export class ExecutionHeartbeats1764300000003 implements MigrationInterface {
  name = 'ExecutionHeartbeats1764300000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn('executions', new TableColumn({ name: 'heartbeat_at', type: 'varchar', length: String(TIMESTAMP_LENGTH), isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('executions', 'heartbeat_at');
  }
}

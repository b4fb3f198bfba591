import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { CallbackAttemptEntity, CallbackDeliveryEntity, SigningSecretEntity } from './callback.entity';

/**
 * Every read and write of `callback_deliveries`, `callback_attempts` and
 * `workspace_signing_secrets`. Timestamps in conditions are the ISO text the columns hold.
 */
@Injectable()
export class CallbacksRepository {
  constructor(
    @InjectRepository(CallbackDeliveryEntity) private readonly deliveries: Repository<CallbackDeliveryEntity>,
    @InjectRepository(CallbackAttemptEntity) private readonly attempts: Repository<CallbackAttemptEntity>,
    @InjectRepository(SigningSecretEntity) private readonly secrets: Repository<SigningSecretEntity>,
  ) {}

  /** Pending deliveries due at `now` that no process holds: candidates for `claim`. */
  async findDue(now: Date, limit: number): Promise<string[]> {
    const rows = await this.deliveries
      .createQueryBuilder('d')
      .select('d.executionId', 'executionId')
      .where("d.status = 'pending' AND d.nextAttemptAt <= :now AND (d.leaseUntil IS NULL OR d.leaseUntil <= :now)", { now: now.toISOString() })
      .orderBy('d.nextAttemptAt', 'ASC')
      .limit(limit)
      .getRawMany<{ executionId: string }>();
    return rows.map((row) => row.executionId);
  }

  /**
   * Takes a due delivery until `leaseUntil`, counting the attempt: a conditional UPDATE, so of
   * two processes only one wins. The delivery as claimed, or null when another process has it.
   */
  async claim(executionId: string, now: Date, leaseUntil: Date): Promise<CallbackDeliveryEntity | null> {
    const result = await this.deliveries
      .createQueryBuilder()
      .update()
      .set({ leaseUntil, attempts: () => 'attempts + 1' })
      .where("execution_id = :executionId AND status = 'pending' AND next_attempt_at <= :now AND (lease_until IS NULL OR lease_until <= :now)", {
        executionId,
        now: now.toISOString(),
      })
      .execute();
    if (!result.affected) return null;
    return this.deliveries.findOneBy({ executionId });
  }

  async recordAttempt(attempt: CallbackAttemptEntity): Promise<void> {
    await this.attempts.createQueryBuilder().insert().values(attempt).orIgnore().updateEntity(false).execute();
  }

  /** Ends the delivery (`delivered`, or `failed` once given up), if this lease still holds it. */
  async complete(executionId: string, status: 'delivered' | 'failed', at: Date, lease: Date): Promise<void> {
    await this.deliveries
      .createQueryBuilder()
      .update()
      .set({ status, completedAt: at, leaseUntil: null })
      .where("execution_id = :executionId AND status = 'pending' AND lease_until = :lease", { executionId, lease: lease.toISOString() })
      .execute();
  }

  /** Leaves the delivery for another try at `next`, if this lease still holds it. */
  async retryAt(executionId: string, next: Date, lease: Date): Promise<void> {
    await this.deliveries
      .createQueryBuilder()
      .update()
      .set({ nextAttemptAt: next, leaseUntil: null })
      .where("execution_id = :executionId AND status = 'pending' AND lease_until = :lease", { executionId, lease: lease.toISOString() })
      .execute();
  }

  async findDelivery(executionId: string): Promise<CallbackDeliveryEntity | null> {
    return this.deliveries.findOneBy({ executionId });
  }

  async listAttempts(executionId: string): Promise<CallbackAttemptEntity[]> {
    return this.attempts.find({ where: { executionId }, order: { attempt: 'ASC' } });
  }

  async findSecret(workspaceId: string): Promise<SigningSecretEntity | null> {
    return this.secrets.findOneBy({ workspaceId });
  }

  /** Stores the workspace's first secret, unless another process stored one first (theirs is kept: read it back). */
  async insertSecret(row: SigningSecretEntity): Promise<void> {
    await this.secrets.createQueryBuilder().insert().values(row).orIgnore().updateEntity(false).execute();
  }

  async replaceSecret(row: SigningSecretEntity): Promise<void> {
    await this.secrets.upsert(row, ['workspaceId']);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock, CLOCK } from '../common/clock';
import { SecretBox } from '../webhooks/secret-box';
import { CallbacksRepository } from './callbacks.repository';

const SECRET_PREFIX = 'whsec_';
const boundTo = (workspaceId: string) => `signing-secret:${workspaceId}`;

/**
 * Each workspace's callback signing secret: made on first use, stored sealed (SecretBox,
 * AES-256-GCM, bound to the workspace), shown in plain text only by `rotate`.
 */
@Injectable()
export class SigningSecrets {
  constructor(
    private readonly repository: CallbacksRepository,
    private readonly box: SecretBox,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The workspace's secret, made (once, whichever process gets there first) when it has none. */
  async current(workspaceId: string): Promise<string> {
    let row = await this.repository.findSecret(workspaceId);
    if (row === null) {
      await this.repository.insertSecret({ workspaceId, secret: this.box.seal(newSecret(), boundTo(workspaceId)), createdAt: new Date(this.clock.now()) });
      row = await this.repository.findSecret(workspaceId);
      if (row === null) throw new Error(`The signing secret of workspace ${workspaceId} was not stored`);
    }
    return this.box.open(row.secret, boundTo(workspaceId));
  }

  /** Replaces the workspace's secret; the new one is returned this once. Deliveries from now on are signed with it. */
  async rotate(workspaceId: string): Promise<{ secret: string; createdAt: Date }> {
    const secret = newSecret();
    const createdAt = new Date(this.clock.now());
    await this.repository.replaceSecret({ workspaceId, secret: this.box.seal(secret, boundTo(workspaceId)), createdAt });
    return { secret, createdAt };
  }
}

function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

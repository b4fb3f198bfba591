import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ExecutionsModule } from '../executions/executions.module';
import { WorkspacesModule } from '../workspaces/workspaces.module';
import { SecretBox } from '../webhooks/secret-box';
import { CallbackAttemptEntity, CallbackDeliveryEntity, SigningSecretEntity } from './callback.entity';
import { CallbackDispatcher } from './callback-dispatcher';
import { CallbackEvents } from './callback-events';
import { CallbacksController } from './callbacks.controller';
import { CallbacksRepository } from './callbacks.repository';
import { SigningSecrets } from './signing-secrets';

/**
 * Completion callbacks: the outbox rows a database trigger writes when an execution with a
 * `callbackUrl` ends, delivered by CallbackDispatcher in every process; the workspaces' signing
 * secrets; `GET /v1/executions/:id/callbacks` and `POST /v1/workspaces/:id/signing-secret/rotate`.
 */
@Module({
  imports: [TypeOrmModule.forFeature([CallbackDeliveryEntity, CallbackAttemptEntity, SigningSecretEntity]), ExecutionsModule, WorkspacesModule],
  controllers: [CallbacksController],
  providers: [CallbacksRepository, SigningSecrets, SecretBox, CallbackEvents, CallbackDispatcher],
  exports: [CallbackEvents, CallbackDispatcher],
})
export class CallbacksModule {}

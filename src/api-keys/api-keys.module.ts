import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { API_KEY_VERIFIER } from '../auth/api-key.authenticator';
import { WorkspacesModule } from '../workspaces/workspaces.module';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { BootstrapService } from './bootstrap.service';
import { LastUsedTracker } from './last-used.tracker';

/** API keys: their table, `/v1/api-keys`, the verifier that resolves a Bearer key (for ApiKeyAuthenticator), the first start's admin key. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity]), WorkspacesModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysService, { provide: API_KEY_VERIFIER, useExisting: ApiKeysService }, LastUsedTracker, BootstrapService],
  exports: [ApiKeysService, BootstrapService],
})
export class ApiKeysModule {}

import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WorkspacesModule } from '../workspaces/workspaces.module';
import { ApiKeyEntity } from './api-key.entity';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { BearerStrategy } from './bearer.strategy';
import { BootstrapService } from './bootstrap.service';
import { LastUsedTracker } from './last-used.tracker';

/** API keys: their table, `/v1/api-keys`, the Bearer strategy that resolves a key, the first start's admin key. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity]), PassportModule, WorkspacesModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysService, BearerStrategy, LastUsedTracker, BootstrapService],
  exports: [ApiKeysService, BootstrapService],
})
export class ApiKeysModule {}

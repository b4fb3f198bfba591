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
import { MeController } from './me.controller';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity]), PassportModule, WorkspacesModule],
  controllers: [MeController, ApiKeysController],
  providers: [ApiKeysService, BearerStrategy, LastUsedTracker, BootstrapService],
  exports: [ApiKeysService, BootstrapService],
})
export class AuthModule {}

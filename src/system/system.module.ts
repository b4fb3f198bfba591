import { Module } from '@nestjs/common';
import { ExecutionsModule } from '../executions/executions.module';
import { RedisModule } from '../redis/redis.module';
import { HealthController } from './health.controller';
import { SystemController } from './system.controller';
import { SystemInfoService } from './system-info.service';

@Module({ imports: [ExecutionsModule, RedisModule], controllers: [HealthController, SystemController], providers: [SystemInfoService] })
export class SystemModule {}

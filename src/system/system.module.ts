import { Module } from '@nestjs/common';
import { ExecutorsModule } from '../executors/executors.module';
import { RedisModule } from '../redis/redis.module';
import { HealthController } from './health.controller';
import { SystemController } from './system.controller';
import { SystemInfoService } from './system-info.service';

@Module({ imports: [ExecutorsModule, RedisModule], controllers: [HealthController, SystemController], providers: [SystemInfoService] })
export class SystemModule {}

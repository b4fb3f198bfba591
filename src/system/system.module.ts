import { Module } from '@nestjs/common';
import { ExecutorsModule } from '../executors/executors.module';
import { HealthController } from './health.controller';
import { SystemController } from './system.controller';
import { SystemInfoService } from './system-info.service';

@Module({ imports: [ExecutorsModule], controllers: [HealthController, SystemController], providers: [SystemInfoService] })
export class SystemModule {}

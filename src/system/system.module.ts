import { Module } from '@nestjs/common';
import { ExecutionsModule } from '../executions/executions.module';
import { HealthController } from './health.controller';
import { SystemController } from './system.controller';
import { SystemInfoService } from './system-info.service';

@Module({ imports: [ExecutionsModule], controllers: [HealthController, SystemController], providers: [SystemInfoService] })
export class SystemModule {}

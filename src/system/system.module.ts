import { Module } from '@nestjs/common';
import { ExecutionsModule } from '../executions/executions.module';
import { HealthController } from './health.controller';

@Module({ imports: [ExecutionsModule], controllers: [HealthController] })
export class SystemModule {}

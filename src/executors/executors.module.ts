import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { createExecutorRegistry, ExecutorRegistry } from './executor-registry';
import { ExecutorsController } from './executors.controller';

/**
 * The executor plugins of this server: loaded once at boot (`plugin-loader.ts`), held by the
 * `ExecutorRegistry` it exports, listed by `GET /v1/executors`, and closed at shutdown, after every
 * `beforeApplicationShutdown` hook (the executions drain there) has run.
 */
@Module({
  controllers: [ExecutorsController],
  providers: [{ provide: ExecutorRegistry, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createExecutorRegistry(config) }],
  exports: [ExecutorRegistry],
})
export class ExecutorsModule implements OnApplicationShutdown {
  constructor(private readonly registry: ExecutorRegistry) {}

  async onApplicationShutdown(): Promise<void> {
    await this.registry.closeAll();
  }
}

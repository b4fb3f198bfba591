import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { buildDataSourceOptions } from './data-source-options';
import { CacheRevisions } from './cache-revisions.service';
import { runMigrationsExclusively } from './migrate';
import { ForegroundActivity } from '../common/foreground-activity';
import { enableIncrementalVacuum } from './sqlite-vacuum';
import { DataSource } from 'typeorm';

export interface DatabaseModuleOptions {
  /** Connection attempts before boot fails (tests use 0, so a broken connection fails at once). */
  retryAttempts: number;
}

@Global()
@Module({})
export class DatabaseModule {
  static forRoot({ retryAttempts }: DatabaseModuleOptions): DynamicModule {
    // The data source's logger: it hears each query start, for the background jobs that yield to foreground work.
    const activity = new ForegroundActivity();
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => ({ ...buildDataSourceOptions(config), autoLoadEntities: true, retryAttempts, retryDelay: 2000 }),
          dataSourceFactory: async (options) => {
            const dataSource = await new DataSource({ ...options!, logger: activity }).initialize();
            // WAL with synchronous=NORMAL: a commit is durable against a crash of the process (the
            // WAL is in the OS's hands), not against power loss; it saves an fsync per write.
            if (dataSource.options.type === 'sqlite') await dataSource.query('PRAGMA synchronous = NORMAL');
            await enableIncrementalVacuum(dataSource);
            await runMigrationsExclusively(dataSource);
            return dataSource;
          },
        }),
      ],
      providers: [CacheRevisions, { provide: ForegroundActivity, useValue: activity }],
      exports: [CacheRevisions, ForegroundActivity],
    };
  }
}

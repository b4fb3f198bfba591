import { Logger, Module } from '@nestjs/common';
import path from 'node:path';
import { PACKAGE_ROOT } from '../common/package-info';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { defaultTemplatesDir, NodeCatalog } from './node-catalog';
import { NodePacksController, NodesController } from './nodes.controller';

/**
 * The node catalogue, read once at boot: the built-in types of codegen-templates/nodes, then the
 * node packs of the plugins/ folder, of `config.nodePacks` and installed beside the server.
 */
@Module({
  controllers: [NodesController, NodePacksController],
  providers: [
    {
      provide: NodeCatalog,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        const logger = new Logger(NodeCatalog.name);
        return NodeCatalog.loadPacks(defaultTemplatesDir(), {
          firstPartyDir: path.resolve(PACKAGE_ROOT, 'plugins'),
          nodeModulesDirs: [path.resolve(PACKAGE_ROOT, 'node_modules')],
          extra: config.nodePacks,
          logger: { info: (message) => logger.log(message), warn: (message) => logger.warn(message) },
        });
      },
    },
  ],
  exports: [NodeCatalog],
})
export class NodesModule {}

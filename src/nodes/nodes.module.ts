import { Module } from '@nestjs/common';
import { defaultTemplatesDir, NodeCatalog } from './node-catalog';
import { NodesController } from './nodes.controller';

/** The node catalogue, read once at boot from codegen-templates/nodes. */
@Module({
  controllers: [NodesController],
  providers: [{ provide: NodeCatalog, useFactory: () => NodeCatalog.load(defaultTemplatesDir()) }],
  exports: [NodeCatalog],
})
export class NodesModule {}

import { Module } from '@nestjs/common';
import { GraphValidator } from '../workflows/graph/graph-validator';
import { defaultTemplatesDir, NodeCatalog } from './node-catalog';
import { NodesController } from './nodes.controller';

/** The node catalogue, read once at boot from codegen-templates/nodes, and the graph validator built on it. */
@Module({
  controllers: [NodesController],
  providers: [
    { provide: NodeCatalog, useFactory: () => NodeCatalog.load(defaultTemplatesDir()) },
    { provide: GraphValidator, inject: [NodeCatalog], useFactory: (catalog: NodeCatalog) => new GraphValidator(catalog) },
  ],
  exports: [NodeCatalog, GraphValidator],
})
export class NodesModule {}

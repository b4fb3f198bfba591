import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CodegenModule } from '../codegen/codegen.module';
import { GraphValidator } from '../graph/graph-validator';
import { NodeCatalog } from '../nodes/node-catalog';
import { NodesModule } from '../nodes/nodes.module';
import { WorkflowEntity } from './workflow.entity';
import { WorkflowLifecycle } from './workflow-lifecycle';
import { WorkflowsController } from './workflows.controller';
import { WorkflowsService } from './workflows.service';

@Module({
  imports: [TypeOrmModule.forFeature([WorkflowEntity]), NodesModule, CodegenModule],
  controllers: [WorkflowsController],
  providers: [
    WorkflowsService,
    WorkflowLifecycle,
    { provide: GraphValidator, inject: [NodeCatalog], useFactory: (catalog: NodeCatalog) => new GraphValidator(catalog) },
  ],
  exports: [WorkflowsService, WorkflowLifecycle],
})
export class WorkflowsModule {}

import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GraphValidator } from '../graph/graph-validator';
import { NodeCatalog } from '../nodes/node-catalog';
import { WorkflowEntity } from './workflow.entity';
import { WorkflowsController } from './workflows.controller';
import { WorkflowsService } from './workflows.service';

@Module({
  imports: [TypeOrmModule.forFeature([WorkflowEntity])],
  controllers: [WorkflowsController],
  providers: [
    WorkflowsService,
    { provide: GraphValidator, inject: [NodeCatalog], useFactory: (catalog: NodeCatalog) => new GraphValidator(catalog) },
  ],
  exports: [WorkflowsService],
})
export class WorkflowsModule {}

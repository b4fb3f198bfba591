import { Module } from '@nestjs/common';
import { NodeCatalog } from '../nodes/node-catalog';
import { GraphValidator } from '../graph/graph-validator';
import { NodesModule } from '../nodes/nodes.module';
import { defaultCodegenRoot, TemplateSet } from './template-set';
import { WorkflowCompiler } from './workflow-compiler';
import { WorkflowExporter } from './workflow-exporter';

/** Code generation: the templates of codegen-templates/, read and checked once at boot, and the compiler. */
@Module({
  imports: [NodesModule],
  providers: [
    { provide: TemplateSet, inject: [NodeCatalog], useFactory: (catalog: NodeCatalog) => TemplateSet.load(defaultCodegenRoot(), catalog) },
    {
      provide: WorkflowCompiler,
      inject: [NodeCatalog, TemplateSet],
      useFactory: (catalog: NodeCatalog, templates: TemplateSet) => new WorkflowCompiler(catalog, templates, new GraphValidator(catalog)),
    },
    WorkflowExporter,
  ],
  exports: [WorkflowCompiler, WorkflowExporter],
})
export class CodegenModule {}

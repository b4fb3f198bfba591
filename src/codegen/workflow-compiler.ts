import type { ProgramFiles } from '@tensorify/executor-sdk';
import type { GraphValidator } from '../graph/graph-validator';
import { InvalidWorkflowError } from '../graph/invalid-workflow.error';
import type { NodeCatalog } from '../nodes/node-catalog';
import type { CompileInput } from './plan/program-plan';
import { planProgram } from './plan/program-planner';
import { importedNames } from './python-imports';
import { emitProgram, WEBHOOK_TRIGGER } from './python/program-emitter';
import { PYTHON_BUILTINS, PYTHON_KEYWORDS } from './python/python-literal';
import type { TemplateSet } from './template-set';

export type { CompileInput } from './plan/program-plan';

export const GENERATED_FILE_NAMES = ['main.py', 'utils.py', 'requirements.txt'] as const;
/** The program's files: the same shape the executor SDK hands to executors. */
export type GeneratedFiles = ProgramFiles;

/** Names main.py defines or imports besides the node functions. */
const PROGRAM_NAMES = ['run', 'main', 'ctx', 'Any', 'os', '__builtins__', '__file__', '__cached__', '__annotations__', '__path__', '__all__'];

/**
 * Compiles a workflow into a Python program in two steps: the plan (validated graph → stable
 * topological order → names, inputs, run conditions, the `if` blocks of run()) and its Python
 * (each node's function from its template, run(), the skeleton around them).
 */
export class WorkflowCompiler {
  /** Names a node's function or variable may not take: Python's, the program's, and what the catalogue's code defines or imports. */
  private readonly reserved: ReadonlySet<string>;
  /** The same and what the webhook server defines (only there, so other programs keep their names). */
  private readonly reservedWithWebhook: ReadonlySet<string>;

  constructor(
    private readonly catalog: NodeCatalog,
    private readonly templates: TemplateSet,
    private readonly validator: GraphValidator,
  ) {
    const catalogNames = catalog
      .list()
      .flatMap((definition) => [...definition.imports.flatMap(importedNames), ...(templates.nodeHelpers(definition.type)?.defines ?? [])]);
    this.reserved = new Set([...PYTHON_KEYWORDS, ...PYTHON_BUILTINS, ...PROGRAM_NAMES, ...templates.runtime.defines, ...catalogNames]);
    this.reservedWithWebhook = new Set([...this.reserved, ...templates.webhookServer.defines]);
  }

  /** The three files of the program; throws InvalidWorkflowError (per-node details) when the graph is invalid. */
  compile(workflow: CompileInput): GeneratedFiles {
    const report = this.validator.validate(workflow);
    if (!report.valid) throw new InvalidWorkflowError(report);
    const webhook = workflow.nodes.some((node) => this.catalog.resolve(node.type)?.type === WEBHOOK_TRIGGER);
    return emitProgram(planProgram(this.catalog, webhook ? this.reservedWithWebhook : this.reserved, workflow), this.catalog, this.templates);
  }
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultCodegenRoot, TemplateSet } from '../../src/codegen/template-set';
import { type CompileInput, WorkflowCompiler } from '../../src/codegen/workflow-compiler';
import { defaultTemplatesDir, NodeCatalog } from '../../src/nodes/node-catalog';
import { GraphValidator } from '../../src/workflows/graph/graph-validator';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../../src/workflows/graph/graph.types';

/** The compiler on the shipped catalogue and templates, as the server builds it. */
export async function shippedCompiler(): Promise<WorkflowCompiler> {
  const catalog = await NodeCatalog.load(defaultTemplatesDir());
  return new WorkflowCompiler(catalog, await TemplateSet.load(defaultCodegenRoot(), catalog), new GraphValidator(catalog));
}

export const EXAMPLES_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'examples');

/** `../shared/examples/<name>.json` (and its inputs and expected output where they exist) as a stored version. */
export function example(
  name: string,
  id = `wf_Example${name
    .replace(/[^A-Za-z0-9]/g, '')
    .padEnd(9, '0')
    .slice(0, 9)}`,
) {
  const read = (file: string): unknown => {
    try {
      return JSON.parse(readFileSync(path.join(EXAMPLES_DIR, file), 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  const body = read(`${name}.json`) as { name: string; description?: string; nodes: WorkflowNodeInput[]; edges: WorkflowEdgeInput[] };
  const workflow: CompileInput = { id, version: 1, name: body.name, description: body.description ?? '', nodes: body.nodes, edges: body.edges };
  return { workflow, inputs: read(`${name}.inputs.json`), expectedOutput: read(`${name}.expected-output.json`) };
}

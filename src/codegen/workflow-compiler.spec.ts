import { InvalidWorkflowError } from '../graph/invalid-workflow.error';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../graph/graph.types';
import { defaultTemplatesDir, NodeCatalog } from '../nodes/node-catalog';
import { GraphValidator } from '../graph/graph-validator';
import { defaultCodegenRoot, TemplateSet } from './template-set';
import { type CompileInput, WorkflowCompiler } from './workflow-compiler';

function workflow(nodes: WorkflowNodeInput[], edges: WorkflowEdgeInput[]): CompileInput {
  return { id: 'wf_Compiler00000001', version: 2, name: 'Spec', description: '', nodes, edges };
}

const trigger: WorkflowNodeInput = { id: 'trigger', type: 'manual', settings: {} };

describe('WorkflowCompiler', () => {
  let compiler: WorkflowCompiler;

  beforeAll(async () => {
    const catalog = await NodeCatalog.load(defaultTemplatesDir());
    compiler = new WorkflowCompiler(catalog, await TemplateSet.load(defaultCodegenRoot(), catalog), new GraphValidator(catalog));
  });

  function compileError(input: CompileInput): InvalidWorkflowError {
    try {
      compiler.compile(input);
    } catch (error) {
      if (error instanceof InvalidWorkflowError) return error;
      throw error;
    }
    throw new Error('the workflow compiled');
  }

  it('refuses an invalid graph with INVALID_WORKFLOW and its problems per node', () => {
    const error = compileError(
      workflow([trigger, { id: 'out', type: 'return', settings: { value: '{{ ghost.x }}' } }], [{ source: 'trigger', target: 'out' }]),
    );
    expect(error.code).toBe('INVALID_WORKFLOW');
    expect(error.details).toEqual({
      nodes: { out: [expect.objectContaining({ code: 'UNRESOLVED_BINDING', path: '/nodes/1/settings/value' })] },
      graph: [],
    });
  });

  it('refuses a condition outside the expression language, on its node', () => {
    const error = compileError(
      workflow([trigger, { id: 'check', type: 'if', settings: { condition: '{{ trigger.n }} => 3' } }], [{ source: 'trigger', target: 'check' }]),
    );
    expect((error.details as { nodes: Record<string, unknown[]> }).nodes.check).toEqual([
      {
        code: 'INVALID_EXPRESSION',
        message: 'Condition "{{ trigger.n }} => 3" is not valid at character 17: unexpected "=>"; use ==, !=, <, <=, > or >=.',
        path: '/nodes/1/settings/condition',
      },
    ]);
  });

  it('refuses a node reached through more branch combinations than it can emit', () => {
    // Each level forks into two ifs whose true sides meet again: the node after level k can be
    // reached in 2^k ways, none of which simplify away. The compile stops at the first node past
    // the limit (40 levels would be 2^40 paths).
    const nodes: WorkflowNodeInput[] = [trigger];
    const edges: WorkflowEdgeInput[] = [];
    let previous = 'trigger';
    for (let level = 0; level < 40; level++) {
      for (const side of ['a', 'b']) {
        nodes.push({ id: `${side}${level}`, type: 'if', settings: { condition: `{{ trigger.${side} }} > ${level}` } });
        edges.push({ source: previous, target: `${side}${level}` }, { source: `${side}${level}`, target: `n${level}`, sourceHandle: 'true' });
      }
      nodes.push({ id: `n${level}`, type: 'transform', settings: { value: level } });
      previous = `n${level}`;
    }
    const error = compileError(workflow(nodes, edges));
    expect((error.details as { nodes: object }).nodes).toEqual({ n6: [expect.objectContaining({ code: 'TOO_MANY_BRANCH_PATHS', path: '/nodes/21' })] });
    expect(error.message).toBe(
      'The workflow is invalid (1 problem): Node "n6" can be reached through 128 different combinations of branches (at most 64); merge branches before it.',
    );
  });

  it('compiles a 10,000-node chain', () => {
    const nodes: WorkflowNodeInput[] = [trigger];
    const edges: WorkflowEdgeInput[] = [];
    for (let index = 1; index < 10_000; index++) {
      const previous = index === 1 ? 'trigger' : `n${index - 1}`;
      nodes.push({ id: `n${index}`, type: 'transform', settings: { value: { previous: `{{ ${previous} }}`, name: 'Hi {{ trigger.name }}' } } });
      edges.push({ source: previous, target: `n${index}` });
    }
    const files = compiler.compile(workflow(nodes, edges));
    expect(files['main.py'].match(/^@node\(/gm)).toHaveLength(10_000);
  });

  it('gives every node the same names whatever nodes are added after it', () => {
    const base = [trigger, { id: 'print', type: 'transform', settings: { value: 1 } }];
    const edges = [{ source: 'trigger', target: 'print' }];
    const before = compiler.compile(workflow(base, edges))['main.py'];
    const after = compiler.compile(
      workflow([...base, { id: 'print_node', type: 'transform', settings: { value: 2 } }], [...edges, { source: 'print', target: 'print_node' }]),
    )['main.py'];
    expect(before).toContain('def print_node() -> Any:');
    expect(after).toContain('def print_node() -> Any:');
    expect(after).toContain('def print_node_node() -> Any:');
  });

  it("keeps the webhook server's names from a webhook workflow's nodes only, so other workflows keep their names", () => {
    const nodes = (type: string) => [
      { id: 'trigger', type, settings: {} },
      { id: 'run_webhook_program', type: 'transform', settings: { value: 1 } },
    ];
    const edges = [{ source: 'trigger', target: 'run_webhook_program' }];
    const manual = compiler.compile(workflow(nodes('manual'), edges))['main.py'];
    const webhook = compiler.compile(workflow(nodes('webhook'), edges))['main.py'];
    expect(manual).toContain('def run_webhook_program() -> Any:');
    expect(webhook).toContain('def run_webhook_program_node() -> Any:');
    expect(webhook).toContain('from utils import Context, node, run_webhook_program\n');
  });
});

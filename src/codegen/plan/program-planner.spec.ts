import type { WorkflowEdgeInput, WorkflowNodeInput } from '../../graph/graph.types';
import { defaultTemplatesDir, NodeCatalog } from '../../nodes/node-catalog';
import type { CompileInput, RunStatement } from './program-plan';
import { planProgram } from './program-planner';

function workflow(nodes: WorkflowNodeInput[], edges: WorkflowEdgeInput[]): CompileInput {
  return { id: 'wf_Planner000000001', version: 1, name: 'Spec', description: '', nodes, edges };
}

/** run() as a nested outline: node ids, `return {}`, and `if` blocks with their bodies. */
function outline(statements: readonly RunStatement[]): unknown[] {
  return statements.map((statement) => {
    if (statement.kind === 'node') return statement.node.id;
    if (statement.kind === 'return-empty') return 'return {}';
    return { if: statement.literal, body: outline(statement.body), ...(statement.orelse && { else: outline(statement.orelse) }) };
  });
}

describe(planProgram.name, () => {
  let catalog: NodeCatalog;
  beforeAll(async () => (catalog = await NodeCatalog.load(defaultTemplatesDir())));

  const scoreAndBranch = workflow(
    [
      { id: 'trigger', type: 'manual', settings: {} },
      { id: 'score', type: 'code', settings: { code: 'return {"total": 11}' } },
      { id: 'check', type: 'if', settings: { condition: '{{ score.total }} > 10' } },
      { id: 'big', type: 'return', settings: { value: { total: '{{ score.total }}' } } },
      { id: 'small', type: 'return', settings: { value: 'small' } },
    ],
    [
      { source: 'trigger', target: 'score' },
      { source: 'score', target: 'check' },
      { source: 'check', sourceHandle: 'true', target: 'big' },
      { source: 'check', sourceHandle: 'false', target: 'small' },
    ],
  );

  it('places a node in the if-block of its branch condition; after a block that always returns, the other side stays flat', () => {
    const plan = planProgram(catalog, new Set(), scoreAndBranch);
    expect(outline(plan.run)).toEqual(['trigger', 'score', 'check', { if: { branch: 2, value: true }, body: ['big'] }, 'small']);
  });

  it('reopens a block on the other side of the same branch as else:', () => {
    const nodes: WorkflowNodeInput[] = [
      ...scoreAndBranch.nodes.slice(0, 3),
      { id: 'yes', type: 'transform', settings: { value: { said: 'yes' } } },
      { id: 'no', type: 'transform', settings: { value: { said: 'no' } } },
    ];
    const edges: WorkflowEdgeInput[] = [
      ...scoreAndBranch.edges.slice(0, 2),
      { source: 'check', sourceHandle: 'true', target: 'yes' },
      { source: 'check', sourceHandle: 'false', target: 'no' },
    ];
    const plan = planProgram(catalog, new Set(), workflow(nodes, edges));
    expect(outline(plan.run)).toEqual(['trigger', 'score', 'check', { if: { branch: 2, value: true }, body: ['yes'], else: ['no'] }, 'return {}']);
  });

  it('records who reads what: the output variables read later, the branch result tested, the bound parameters', () => {
    const plan = planProgram(catalog, new Set(), scoreAndBranch);
    const node = (id: string) => plan.nodes.find((candidate) => candidate.id === id)!;
    expect(node('score')).toMatchObject({ variable: 'score_output', outputRead: true, preset: false });
    expect(node('check')).toMatchObject({ role: 'branch', passed: 'check_passed', passedRead: true, boundVariables: ['score_output'] });
    expect(node('big')).toMatchObject({ role: 'return', boundVariables: ['score_output'], outputRead: false });
    expect(node('check').conditions.get('condition')).toMatchObject({ kind: 'compare', op: '>' });
  });

  it('gives a node the reserved name of another a suffix, and numbers repeats', () => {
    const plan = planProgram(catalog, new Set(['trigger', 'trigger_node']), scoreAndBranch);
    expect(plan.nodes[0]).toMatchObject({ id: 'trigger', function: 'trigger_node_2', variable: 'trigger_output' });
  });

  it('hands the emitter a frozen plan: its nodes and run() statements', () => {
    const plan = planProgram(catalog, new Set(), scoreAndBranch);
    expect(Object.isFrozen(plan)).toBe(true);
    expect(plan.nodes.every((node) => Object.isFrozen(node))).toBe(true);
    expect(Object.isFrozen(plan.run)).toBe(true);
    const branch = plan.run[3];
    expect(branch.kind === 'if' && Object.isFrozen(branch) && Object.isFrozen(branch.body)).toBe(true);
  });
});

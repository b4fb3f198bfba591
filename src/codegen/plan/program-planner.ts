import { type Binding, findBindings } from '../../graph/bindings';
import { type ConditionNode, parseCondition } from '../../graph/condition';
import { carriesValue, sourcePortOf, targetPortOf } from '../../graph/dataflow';
import { type GraphProblem, GraphProblemCode } from '../../graph/graph-problem';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../../graph/graph.types';
import { InvalidWorkflowError } from '../../graph/invalid-workflow.error';
import { topologicalOrder } from '../../graph/topological-order';
import type { NodeCatalog } from '../../nodes/node-catalog';
import type { NodeTypeDefinition } from '../../nodes/node-type';
import {
  ALWAYS,
  anyOf,
  type Condition,
  conditionKey,
  type Conjunction,
  extensionOf,
  implies,
  isAlways,
  type Literal,
  MAX_CONJUNCTIONS,
  withLiteral,
} from '../branch-conditions';
import { py, type PyExpr } from '../python/py-expr';
import type { CompileInput, NodePlan, NodeRole, ProgramPlan, RunStatement } from './program-plan';
import { type Block, endsFlow, knows, literalCode, literalKey, newBlock, type OpenBlock, type PlannedStatement } from './run-blocks';

/** Deepest `if` nesting in run() before the remaining literals are tested in one condition. */
const MAX_NESTING = 8;

/** A node while it is planned: the facts of NodePlan, found in steps. */
interface NodeState {
  node: WorkflowNodeInput;
  definition: NodeTypeDefinition;
  settings: Record<string, unknown>;
  role: NodeRole;
  function: string;
  variable: string;
  passed: string;
  condition: Condition;
  /** Nodes feeding its input handle, in compile order. */
  inputSources: NodeState[];
  /** Per input port: the nodes whose edges bring it a value (of its data type), with the output they leave through. */
  portSources: Map<string, { source: NodeState; field?: string }[]>;
  /** Every binding of its settings (those of a condition included), in order. */
  bindings: Binding[];
  /** Upstream nodes its bindings read, in order of first appearance. */
  bound: NodeState[];
  /** Its expression settings, parsed once (the validator has already refused a bad one). */
  conditions: Map<string, ConditionNode>;
  position: number;
  emitted: boolean;
  outputRead: boolean;
  passedRead: boolean;
  preset: boolean;
}

type Statement = PlannedStatement<NodeState>;

/**
 * Plans the program of a valid workflow: the stable topological order, every name (free of
 * `reserved`), each node's inputs and run condition, and run()'s statements inside the `if`
 * blocks of their conditions. Throws InvalidWorkflowError when branches multiply past MAX_CONJUNCTIONS.
 */
export function planProgram(catalog: NodeCatalog, reserved: ReadonlySet<string>, workflow: CompileInput): ProgramPlan {
  return new ProgramPlanner(catalog, reserved, workflow).plan();
}

class ProgramPlanner {
  private readonly states: NodeState[];
  private readonly byId = new Map<string, NodeState>();
  private readonly taken: Set<string>;
  private readonly topKnown = new WeakMap<Conjunction, number>();

  constructor(
    catalog: NodeCatalog,
    reserved: ReadonlySet<string>,
    private readonly workflow: CompileInput,
  ) {
    this.taken = new Set(reserved);
    const ordered = topologicalOrder(workflow.nodes, workflow.edges);
    this.states = ordered.map((node, position) => {
      const definition = catalog.resolve(node.type)!;
      const state: NodeState = {
        node,
        definition,
        settings: { ...definition.defaults, ...node.settings },
        role: definition.python?.role ?? 'step',
        function: '',
        variable: '',
        passed: '',
        condition: ALWAYS,
        inputSources: [],
        portSources: new Map(),
        bindings: [],
        bound: [],
        conditions: new Map(),
        position,
        emitted: false,
        outputRead: false,
        passedRead: false,
        preset: false,
      };
      this.byId.set(node.id, state);
      return state;
    });
    // Names in workflow order, functions first, so a node keeps its names when others are added after it.
    const inWorkflowOrder = workflow.nodes.map((node) => this.byId.get(node.id)!);
    for (const state of inWorkflowOrder) if (state.role !== 'layer') state.function = this.allocate(state.node.id, '_node');
    for (const state of inWorkflowOrder) {
      if (state.role === 'layer') continue;
      state.variable = this.allocate(`${state.node.id}_output`, '');
      if (state.role === 'branch') state.passed = this.allocate(`${state.node.id}_passed`, '');
    }
  }

  plan(): ProgramPlan {
    this.connect();
    const run = this.planRun();
    const emitted = this.states.filter((state) => state.emitted);
    const layers = emitted.flatMap((state) => (state.role === 'sequence' ? this.chainOf(state) : []));
    const usedTypes = [...new Set([...emitted, ...layers].map((state) => state.definition.type))].sort();
    const plans = this.freezeNodes();
    return Object.freeze({
      workflow: this.workflow,
      nodes: Object.freeze(this.states.map((state) => plans.get(state)!)),
      variables: new Map(this.states.map((state) => [state.node.id, state.variable])),
      run: freezeStatements(run, plans),
      usedTypes: Object.freeze(usedTypes),
    });
  }

  /** `base`, or `base` + suffix, + `_2`, `_3`… until the name is free. */
  private allocate(base: string, suffix: string): string {
    let name = this.taken.has(base) ? base + suffix : base;
    for (let counter = 2; this.taken.has(name); counter++) name = `${base}${suffix}_${counter}`;
    this.taken.add(name);
    return name;
  }

  /** Input sources, bound nodes and run conditions, in compile order. */
  private connect(): void {
    const incoming = new Map<NodeState, { source: NodeState; edge: WorkflowEdgeInput }[]>();
    for (const edge of this.workflow.edges) {
      const target = this.byId.get(edge.target)!;
      const list = incoming.get(target) ?? [];
      list.push({ source: this.byId.get(edge.source)!, edge });
      incoming.set(target, list);
    }
    for (const state of this.states) {
      const edges = (incoming.get(state) ?? []).sort((a, b) => a.source.position - b.source.position);
      state.inputSources = [...new Set(edges.map(({ source }) => source))];
      for (const { source, edge } of edges) {
        const from = sourcePortOf(source.definition, edge);
        const to = targetPortOf(state.definition, edge);
        if (from === undefined || to === undefined || !carriesValue(from, to)) continue;
        const list = state.portSources.get(to.id) ?? [];
        if (!list.some((entry) => entry.source === source)) list.push({ source, field: from.field });
        state.portSources.set(to.id, list);
      }
      state.bindings = this.bindingsOf(state);
      state.bound = [...new Set(state.bindings.flatMap((binding) => (binding.root.kind === 'node' ? [this.byId.get(binding.root.nodeId)!] : [])))];
      if (edges.length > 0) {
        state.condition = anyOf(
          edges.map(({ source, edge }) =>
            source.role === 'branch' ? withLiteral(source.condition, { branch: source.position, value: edge.sourceHandle === 'true' }) : source.condition,
          ),
        );
      }
      // Past the limit, the nodes after it would only grow the count (exponentially): stop at the first.
      if (state.condition.length > MAX_CONJUNCTIONS) throw this.tooManyPaths(state);
    }
  }

  private tooManyPaths(state: NodeState): InvalidWorkflowError {
    const problem: GraphProblem = {
      code: GraphProblemCode.TOO_MANY_BRANCH_PATHS,
      message:
        `Node "${state.node.id}" can be reached through ${state.condition.length} different combinations of branches ` +
        `(at most ${MAX_CONJUNCTIONS}); merge branches before it.`,
      path: `/nodes/${this.workflow.nodes.indexOf(state.node)}`,
    };
    return new InvalidWorkflowError({ valid: false, errors: { nodes: { [state.node.id]: [problem] }, graph: [] } });
  }

  /** Every binding of a node's settings; its expression settings are parsed here, once. */
  private bindingsOf(state: NodeState): Binding[] {
    const { verbatimSettings = [], expressionSettings = [] } = state.definition;
    const bindings: Binding[] = [];
    for (const [name, value] of Object.entries(state.settings)) {
      if (verbatimSettings.includes(name)) continue;
      if (!expressionSettings.includes(name)) {
        bindings.push(...findBindings(value).bindings);
        continue;
      }
      const result = parseCondition(String(value));
      if (!result.ok) throw new Error(`Node "${state.node.id}": ${result.error.message}`);
      state.conditions.set(name, result.condition);
      bindings.push(...result.bindings);
    }
    return bindings;
  }

  // ---- run() -------------------------------------------------------------------------------

  /** The statements of run(), node by node in compile order, inside the `if` blocks of their conditions. */
  private planRun(): Statement[] {
    const top: Block<NodeState> = newBlock();
    let open: OpenBlock<NodeState>[] = [];
    for (const state of this.states) {
      if (state.role === 'layer') continue;
      const placed = this.openBlocks(top, open, state.condition);
      if (placed === undefined) continue;
      open = placed;
      const block = open.length === 0 ? top : open[open.length - 1].block;
      if (endsFlow(block.statements)) continue;
      const statement: Statement = { kind: 'node', node: state, call: this.callOf(state) };
      state.emitted = true;
      block.statements.push(statement);
    }
    if (!endsFlow(top.statements)) top.statements.push({ kind: 'return-empty' });
    return top.statements;
  }

  /**
   * The blocks a node with `condition` goes in, or undefined when it can never run there. Open
   * blocks that match its first literals are kept, the rest closed. A literal already known where
   * it would be tested is skipped: after `if not c_passed: return …`, the code that follows knows
   * c passed, so a long chain of guarded steps stays flat instead of nesting one level per branch.
   * A closed block testing the same branch the other way is reopened as `else:`. Past
   * MAX_NESTING levels the remaining literals are tested together in one `if … and …:`.
   */
  private openBlocks(top: Block<NodeState>, open: OpenBlock<NodeState>[], condition: Condition): OpenBlock<NodeState>[] | undefined {
    if (isAlways(condition)) return [];
    if (condition.length > 1) {
      const key = `or:${conditionKey(condition)}`;
      if (open.length === 1 && open[0].key === key) return open;
      const test = () => py.or(condition.map((conjunction) => py.and(conjunction.map((literal) => this.literalTest(literal)))));
      return this.openIf(top, [], key, test);
    }
    const literals: Conjunction = condition[0];
    let blocks: OpenBlock<NodeState>[] = [];
    // Known where the next block would open: in that block's parent or any block around it.
    const known = (literal: Literal) => knows(top, literalCode(literal)) || blocks.some(({ block }) => knows(block, literalCode(literal)));
    for (let index = this.knownAtTop(top, literals); index < literals.length; index++) {
      const literal = literals[index];
      const key = literalKey(literal);
      const parent = blocks.length === 0 ? top : blocks[blocks.length - 1].block;
      if (known(literal)) continue;
      if (open.length > blocks.length && open[blocks.length].key === key) {
        blocks.push(open[blocks.length]);
        continue;
      }
      if (known({ ...literal, value: !literal.value })) return undefined;
      if (blocks.length === MAX_NESTING) {
        const rest = literals.slice(index).filter((other) => !known(other));
        const restKey = `and:${rest.map(literalKey).join('&')}`;
        if (open.length > blocks.length && open[blocks.length].key === restKey) return [...blocks, open[blocks.length]];
        return this.openIf(top, blocks, restKey, () => py.and(rest.map((other) => this.literalTest(other))));
      }
      const last = parent.statements[parent.statements.length - 1];
      if (last?.kind === 'if' && last.orelse === undefined && last.literal?.branch === literal.branch && last.literal.value !== literal.value) {
        last.orelse = [];
        blocks = [...blocks, { key, block: newBlock(last.orelse) }];
      } else {
        blocks = this.openIf(top, blocks, key, () => this.literalTest(literal), literal);
      }
    }
    return blocks;
  }

  /**
   * How many leading literals of `conjunction` run() knows at its top level. Top-level knowledge
   * only grows, so the count is kept per conjunction and extended from the one it was made from:
   * a chain of guarded steps costs O(1) per node, not a walk over every branch before it.
   */
  private knownAtTop(top: Block<NodeState>, conjunction: Conjunction): number {
    let count = this.topKnown.get(conjunction);
    if (count === undefined) {
      const shorter = extensionOf(conjunction);
      count = shorter === undefined ? 0 : this.knownAtTop(top, shorter);
    }
    while (count < conjunction.length && knows(top, literalCode(conjunction[count]))) count++;
    this.topKnown.set(conjunction, count);
    return count;
  }

  private openIf(top: Block<NodeState>, blocks: OpenBlock<NodeState>[], key: string, test: () => PyExpr, literal?: Literal): OpenBlock<NodeState>[] {
    const parent = blocks.length === 0 ? top : blocks[blocks.length - 1].block;
    // Behind a statement that always returns, the block is never reached: it stays out of run(),
    // marked ended, so the nodes meant for it are left out too.
    if (endsFlow(parent.statements)) return [...blocks, { key, block: newBlock([{ kind: 'return-empty' }]) }];
    const statement: Statement = { kind: 'if', test: test(), body: [], literal };
    parent.statements.push(statement);
    return [...blocks, { key, block: newBlock(statement.body) }];
  }

  private literalTest(literal: Literal): PyExpr {
    const branch = this.states[literal.branch];
    branch.passedRead = true;
    const name = py.name(branch.passed);
    return literal.value ? name : py.not(name);
  }

  /** The call of a node's function in run(), reading each argument where run() holds it. */
  private callOf(state: NodeState): PyExpr {
    const args: PyExpr[] = [];
    for (const parameter of portParameters(state.definition)) {
      args.push(parameter === 'input' ? this.inputOf(state, state) : this.portValue(state, parameter));
    }
    for (const bound of state.bound) args.push(this.valueOf(bound, state));
    if (needsContext(state)) args.push(py.name('ctx'));
    return py.call(state.function, args);
  }

  /** The value arriving at one input port: its source's output (or the field its output port carries); with several, the latest set. */
  private portValue(state: NodeState, port: string): PyExpr {
    const values = (state.portSources.get(port) ?? []).map(({ source, field }) => {
      const value = this.valueOf(source, state);
      return field === undefined || value.kind === 'const' ? value : py.subscript(value, py.str(field));
    });
    if (values.length === 0) return py.none;
    return values.length === 1 ? values[0] : py.call('first_value', values.reverse());
  }

  /** The layers of a sequence node, first to last: the chain of layer nodes feeding its input. */
  private chainOf(state: NodeState): NodeState[] {
    const chain: NodeState[] = [];
    let current = state;
    for (;;) {
      const link = current.portSources.get(current.definition.inputs[0]?.id ?? '')?.[0]?.source;
      if (link === undefined || link.role !== 'layer' || chain.includes(link)) return chain;
      chain.unshift(link);
      current = link;
    }
  }

  /** What run() passes for `node`'s output when `reader` reads it; a branch passes its input on. */
  private valueOf(node: NodeState, reader: NodeState): PyExpr {
    if (node.role === 'branch') return this.inputOf(node, reader);
    if (!node.emitted) return py.none;
    node.outputRead = true;
    if (!implies(reader.condition, node.condition)) node.preset = true;
    return py.name(node.variable);
  }

  /** The output of the node(s) feeding `node`'s input: with several, the latest that produced a value. */
  private inputOf(node: NodeState, reader: NodeState): PyExpr {
    const sources = node.inputSources.filter((source) => source.role !== 'return');
    if (sources.length === 0) return py.none;
    if (sources.length === 1) return this.valueOf(sources[0], reader);
    return py.call(
      'first_value',
      [...sources].reverse().map((source) => this.valueOf(source, reader)),
    );
  }

  /** The planned nodes, frozen: every flag is final once run() is planned. */
  private freezeNodes(): Map<NodeState, NodePlan> {
    const plans = new Map<NodeState, NodePlan>();
    const chains = new Map<NodeState, NodePlan[]>();
    for (const state of this.states) {
      const chain: NodePlan[] = [];
      chains.set(state, chain);
      plans.set(state, {
        id: state.node.id,
        definition: state.definition,
        settings: state.settings,
        role: state.role,
        function: state.function,
        variable: state.variable,
        passed: state.passed,
        ports: portParameters(state.definition),
        boundVariables: state.bound.map((bound) => bound.variable),
        needsContext: needsContext(state),
        conditions: state.conditions,
        chain,
        emitted: state.emitted,
        outputRead: state.outputRead,
        passedRead: state.passedRead,
        preset: state.preset,
      });
    }
    for (const state of this.states) {
      if (state.role === 'sequence') chains.get(state)!.push(...this.chainOf(state).map((layer) => plans.get(layer)!));
    }
    for (const plan of plans.values()) {
      Object.freeze(plan.chain);
      Object.freeze(plan);
    }
    return plans;
  }
}

/** `input` and the input ports a node's function takes, in the manifest's order (`ctx` comes last, separately). */
function portParameters(definition: NodeTypeDefinition): string[] {
  return (definition.python?.parameters ?? []).filter((parameter) => parameter !== 'ctx');
}

function needsContext(state: NodeState): boolean {
  return (state.definition.python?.parameters ?? []).includes('ctx') || state.bindings.some((binding) => binding.root.kind === 'inputs');
}

function freezeStatements(statements: readonly Statement[], plans: ReadonlyMap<NodeState, NodePlan>): readonly RunStatement[] {
  return Object.freeze(
    statements.map((statement): RunStatement => {
      switch (statement.kind) {
        case 'return-empty':
          return Object.freeze(statement);
        case 'node':
          return Object.freeze({ kind: 'node', node: plans.get(statement.node)!, call: statement.call });
        case 'if':
          return Object.freeze({
            kind: 'if',
            test: statement.test,
            body: freezeStatements(statement.body, plans),
            orelse: statement.orelse && freezeStatements(statement.orelse, plans),
            literal: statement.literal,
          });
      }
    }),
  );
}

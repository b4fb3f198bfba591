import type { ProgramFiles } from '@tensorify/executor-sdk';
import type { NodeCatalog } from '../nodes/node-catalog';
import type { NodeTypeDefinition } from '../nodes/node-type';
import { type Binding, findBindings, parseBindings } from '../workflows/graph/bindings';
import { type GraphProblem, GraphProblemCode } from '../workflows/graph/graph-problem';
import type { GraphValidator } from '../workflows/graph/graph-validator';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../workflows/graph/graph.types';
import { carriesValue, sourcePortOf, targetPortOf } from '../workflows/graph/dataflow';
import { topologicalOrder } from '../workflows/graph/topological-order';
import { InvalidWorkflowError } from '../workflows/invalid-workflow.error';
import {
  ALWAYS,
  anyOf,
  type Condition,
  conditionKey,
  type Conjunction,
  implies,
  isAlways,
  type Literal,
  MAX_CONJUNCTIONS,
  withLiteral,
  extensionOf,
} from './branch-conditions';
import { type ConditionNode, conditionToPy, parseCondition } from './condition';
import { fromImport, importedNames, mergeImports } from './python-imports';
import { flatSource, layoutDef, layoutStatement } from './python/layout';
import { collectNames, jsonToPy, py, type PyExpr } from './python/py-expr';
import { docstringText, PYTHON_BUILTINS, PYTHON_KEYWORDS } from './python/python-literal';
import { mergeRequirements } from './requirements';
import { OMITTED, PyArgs, PythonCode, PyValue, type TemplateSet, VerbatimBody } from './template-set';

/** A stored workflow version: what an export compiles. */
export interface CompileInput {
  id: string;
  version: number;
  name: string;
  description: string;
  nodes: readonly WorkflowNodeInput[];
  edges: readonly WorkflowEdgeInput[];
}

export const GENERATED_FILE_NAMES = ['main.py', 'utils.py', 'requirements.txt'] as const;
/** The program's files: the same shape the executor SDK hands to executors. */
export type GeneratedFiles = ProgramFiles;

/** Names main.py defines or imports besides the node functions. */
const PROGRAM_NAMES = ['run', 'main', 'ctx', 'Any', 'os', '__builtins__', '__file__', '__cached__', '__annotations__', '__path__', '__all__'];
const INDENT = 4;

/**
 * Compiles a workflow into a Python program: validated graph → stable topological order → each
 * node's function from its template → the `run()` that calls them (branches as `if` blocks,
 * the first `return` reached ending the run) → the skeleton around them.
 */
export class WorkflowCompiler {
  private readonly reserved: ReadonlySet<string>;

  constructor(
    private readonly catalog: NodeCatalog,
    private readonly templates: TemplateSet,
    private readonly validator: GraphValidator,
  ) {
    const catalogNames = catalog
      .list()
      .flatMap((definition) => [...definition.imports.flatMap(importedNames), ...(templates.nodeHelpers(definition.type)?.defines ?? [])]);
    this.reserved = new Set([...PYTHON_KEYWORDS, ...PYTHON_BUILTINS, ...PROGRAM_NAMES, ...templates.runtime.defines, ...catalogNames]);
  }

  /** The three files of the program; throws InvalidWorkflowError (per-node details) when the graph is invalid. */
  compile(workflow: CompileInput): GeneratedFiles {
    const report = this.validator.validate(workflow);
    if (!report.valid) throw new InvalidWorkflowError(report);
    return new Compilation(this.catalog, this.templates, this.reserved, workflow).run();
  }
}

interface NodeState {
  node: WorkflowNodeInput;
  definition: NodeTypeDefinition;
  settings: Record<string, unknown>;
  role: 'step' | 'branch' | 'return' | 'layer' | 'sequence';
  function: string;
  variable: string;
  /** The bool a branch node returned, as tested by the `if` blocks. */
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
  position: number;
  /** Whether `run()` reaches it (not after a `return` that always happens first). */
  emitted: boolean;
  /** Whether a later statement reads its output variable / its `passed` variable. */
  outputRead: boolean;
  passedRead: boolean;
  /** Whether its variable must be set to None before the nodes run (read where it may not have run). */
  preset: boolean;
}

type Statement =
  | { kind: 'node'; state: NodeState; call: PyExpr }
  | { kind: 'return-empty' }
  | { kind: 'if'; test: PyExpr; body: Statement[]; orelse?: Statement[]; literal?: Literal };

/** A list of statements of run(), and the branch results known at its end (from guards such as `if not c: return`). */
interface Block {
  statements: Statement[];
  /** Literals (as literalCode) known from the statements before `scanned`. */
  known: Set<number>;
  scanned: number;
}

interface OpenBlock {
  key: string;
  block: Block;
}

/** Deepest `if` nesting in run() before the remaining literals are tested in one condition. */
const MAX_NESTING = 8;

/** One compile: every name and decision for one workflow version. */
class Compilation {
  private readonly states: NodeState[];
  private readonly byId = new Map<string, NodeState>();
  private readonly taken: Set<string>;
  private readonly topKnown = new WeakMap<Conjunction, number>();
  private readonly conditions = new Map<string, { condition: ConditionNode; bindings: Binding[] }>();
  /** Every name the laid-out expressions of main.py read: what it must import. */
  private readonly namesRead = new Set(['Any', 'Context', 'node', 'run_program']);

  constructor(
    private readonly catalog: NodeCatalog,
    private readonly templates: TemplateSet,
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

  run(): GeneratedFiles {
    this.connect();
    const body = this.emitRun();
    const emitted = this.states.filter((state) => state.emitted);
    const functions = emitted.map((state) => new PythonCode(this.renderFunction(state)));
    const layers = emitted.flatMap((state) => (state.role === 'sequence' ? this.chainOf(state) : []));
    const usedTypes = [...new Set([...emitted, ...layers].map((state) => state.definition.type))].sort();
    const presets = emitted.filter((state) => state.preset).map((state) => ' '.repeat(INDENT) + `${state.variable} = None`);
    const runBody = [...presets, ...this.printBlock(body, INDENT)].join('\n');
    return {
      'main.py': this.templates.renderSkeleton('main', {
        docstring: new PythonCode(this.moduleDocstring()),
        imports: new PythonCode(this.mainImports(usedTypes)),
        functions,
        run: new PythonCode(runBody),
        entry: new PyValue(py.call('run_program', [py.name('run'), py.str(this.workflow.id), py.num(this.workflow.version)])),
      }),
      'utils.py': this.renderUtils(usedTypes),
      'requirements.txt': this.templates.renderSkeleton('requirements', {
        requirements: mergeRequirements(usedTypes.flatMap((type) => this.catalog.resolve(type)!.requirements)).map((line) => new PythonCode(line)),
      }),
    };
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

  private bindingsOf(state: NodeState): Binding[] {
    const { verbatimSettings = [], expressionSettings = [] } = state.definition;
    const bindings: Binding[] = [];
    for (const [name, value] of Object.entries(state.settings)) {
      if (verbatimSettings.includes(name)) continue;
      if (expressionSettings.includes(name)) bindings.push(...this.condition(state, name, value).bindings);
      else bindings.push(...findBindings(value).bindings);
    }
    return bindings;
  }

  /** A condition setting, parsed once per compile (the validator has already refused a bad one). */
  private condition(state: NodeState, name: string, value: unknown): { condition: ConditionNode; bindings: Binding[] } {
    const key = `${state.node.id}/${name}`;
    let parsed = this.conditions.get(key);
    if (parsed === undefined) {
      const result = parseCondition(String(value));
      if (!result.ok) throw new Error(`Node "${state.node.id}": ${result.error.message}`);
      parsed = result;
      this.conditions.set(key, parsed);
    }
    return parsed;
  }

  // ---- run() -------------------------------------------------------------------------------

  /** The statements of run(), node by node in compile order, inside the `if` blocks of their conditions. */
  private emitRun(): Statement[] {
    const top: Block = { statements: [], known: new Set(), scanned: 0 };
    let open: OpenBlock[] = [];
    for (const state of this.states) {
      if (state.role === 'layer') continue;
      const placed = this.openBlocks(top, open, state.condition);
      if (placed === undefined) continue;
      open = placed;
      const block = open.length === 0 ? top : open[open.length - 1].block;
      if (endsFlow(block.statements)) continue;
      const statement: Statement = { kind: 'node', state, call: this.callOf(state) };
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
  private openBlocks(top: Block, open: OpenBlock[], condition: Condition): OpenBlock[] | undefined {
    if (isAlways(condition)) return [];
    if (condition.length > 1) {
      const key = `or:${conditionKey(condition)}`;
      if (open.length === 1 && open[0].key === key) return open;
      const test = () => py.or(condition.map((conjunction) => py.and(conjunction.map((literal) => this.literalTest(literal)))));
      return this.openIf(top, [], key, test);
    }
    const literals: Conjunction = condition[0];
    let blocks: OpenBlock[] = [];
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
        blocks = [...blocks, { key, block: { statements: last.orelse, known: new Set(), scanned: 0 } }];
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
  private knownAtTop(top: Block, conjunction: Conjunction): number {
    let count = this.topKnown.get(conjunction);
    if (count === undefined) {
      const shorter = extensionOf(conjunction);
      count = shorter === undefined ? 0 : this.knownAtTop(top, shorter);
    }
    while (count < conjunction.length && knows(top, literalCode(conjunction[count]))) count++;
    this.topKnown.set(conjunction, count);
    return count;
  }

  private openIf(top: Block, blocks: OpenBlock[], key: string, test: () => PyExpr, literal?: Literal): OpenBlock[] {
    const parent = blocks.length === 0 ? top : blocks[blocks.length - 1].block;
    // Behind a statement that always returns, the block is never reached: it stays out of run(),
    // marked ended, so the nodes meant for it are left out too.
    if (endsFlow(parent.statements)) return [...blocks, { key, block: { statements: [{ kind: 'return-empty' }], known: new Set(), scanned: 0 } }];
    const statement: Statement = { kind: 'if', test: test(), body: [], literal };
    parent.statements.push(statement);
    return [...blocks, { key, block: { statements: statement.body, known: new Set(), scanned: 0 } }];
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
    for (const parameter of this.portParameters(state)) {
      args.push(parameter === 'input' ? this.inputOf(state, state) : this.portValue(state, parameter));
    }
    for (const bound of state.bound) args.push(this.valueOf(bound, state));
    if (this.needsContext(state)) args.push(py.name('ctx'));
    return py.call(state.function, args);
  }

  /** `input` and the input ports the function takes, in the manifest's order (`ctx` comes last, separately). */
  private portParameters(state: NodeState): string[] {
    return (state.definition.python?.parameters ?? []).filter((parameter) => parameter !== 'ctx');
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

  private needsContext(state: NodeState): boolean {
    return (state.definition.python?.parameters ?? []).includes('ctx') || state.bindings.some((binding) => binding.root.kind === 'inputs');
  }

  private printBlock(statements: Statement[], indent: number): string[] {
    return statements.flatMap((statement): string[] => {
      switch (statement.kind) {
        case 'return-empty':
          return [layoutStatement(indent, 'return ', py.dict([]))];
        case 'node': {
          const { state, call } = statement;
          const prefix =
            state.role === 'return'
              ? 'return '
              : state.role === 'branch'
                ? state.passedRead
                  ? `${state.passed} = `
                  : ''
                : state.outputRead
                  ? `${state.variable} = `
                  : '';
          collectNames(call, this.namesRead);
          return [layoutStatement(indent, prefix, call)];
        }
        case 'if': {
          collectNames(statement.test, this.namesRead);
          const lines = [layoutStatement(indent, 'if ', statement.test, ':'), ...this.printBlock(statement.body, indent + INDENT)];
          if (statement.orelse !== undefined) lines.push(' '.repeat(indent) + 'else:', ...this.printBlock(statement.orelse, indent + INDENT));
          return lines;
        }
      }
    });
  }

  // ---- node functions ------------------------------------------------------------------------

  private renderFunction(state: NodeState): string {
    const { definition } = state;
    const python = definition.python ?? {};
    const ports = this.portParameters(state);
    const params = [
      ...ports.map((name) => ({ name, annotation: 'Any' })),
      ...state.bound.map((bound) => ({ name: bound.variable, annotation: 'Any' })),
      ...(this.needsContext(state) ? [{ name: 'ctx', annotation: 'Context' }] : []),
    ];
    const chain = state.role === 'sequence' ? this.chainOf(state) : [];
    const context = {
      ...this.templateContext(state),
      params: Object.fromEntries(ports.map((name) => [name, new PyValue(py.name(name))])),
      layers: new PyArgs(chain.map((layer) => this.layerExpr(layer))),
    };
    const { body, printed } = this.templates.renderNode(definition.type, context, this.callable(definition));
    printed.forEach((expr) => collectNames(expr, this.namesRead));
    const summary =
      chain.length === 0 ? `${definition.displayName} node.` : `${definition.displayName} node: ${chain.map((layer) => layer.node.id).join(' → ')}.`;
    const decoratorArgs: PyExpr[] = [py.str(state.node.id)];
    const decorator = py.call(
      'node',
      python.resultType === undefined ? decoratorArgs : [...decoratorArgs, { name: 'result', value: py.name(python.resultType) }],
    );
    return [
      `@${flatSource(decorator)}`,
      layoutDef(0, state.function, params, python.returns ?? 'Any'),
      `    """${docstringText(summary)}"""`,
      body.replace(/\n+$/, ''),
    ].join('\n');
  }

  /**
   * What every node template sees: its settings compiled (`settings`), the same but OMITTED where
   * a setting has its default (`changed`), as written (`raw`), and its id.
   */
  private templateContext(state: NodeState): object {
    const settings: Record<string, PyValue | VerbatimBody | undefined> = {};
    const changed: Record<string, PyValue | VerbatimBody | typeof OMITTED | undefined> = {};
    const { defaults } = state.definition;
    for (const [name, value] of Object.entries(state.settings)) {
      settings[name] = this.settingValue(state, name, value);
      changed[name] = name in defaults && JSON.stringify(defaults[name]) === JSON.stringify(value) ? OMITTED : settings[name];
    }
    return { settings, changed, raw: state.settings, node: { id: state.node.id } };
  }

  /**
   * The names a type's template may call, and call attributes of: its helpers, what its import
   * lines bind (`nn` in `nn.Linear`), and its port parameters (`model` in `model.parameters`).
   */
  private callable(definition: NodeTypeDefinition): ReadonlySet<string> {
    const ports = (definition.python?.parameters ?? []).filter((parameter) => parameter !== 'ctx' && parameter !== 'input');
    return new Set([...(definition.python?.helpers ?? []), ...definition.imports.flatMap(importedNames), ...ports]);
  }

  /** A layer node's module expression: its template's one printed expression. */
  private layerExpr(layer: NodeState): PyExpr {
    const { printed } = this.templates.renderNode(layer.definition.type, this.templateContext(layer), this.callable(layer.definition));
    if (printed.length !== 1)
      throw new Error(`The template of layer type "${layer.definition.type}" must print exactly one expression, printed ${printed.length}`);
    collectNames(printed[0], this.namesRead);
    return printed[0];
  }

  private settingValue(state: NodeState, name: string, value: unknown): PyValue | VerbatimBody | undefined {
    const { verbatimSettings = [], expressionSettings = [] } = state.definition;
    if (value === undefined) return undefined;
    if (verbatimSettings.includes(name)) return new VerbatimBody(String(value));
    if (expressionSettings.includes(name)) {
      const expr = conditionToPy(this.condition(state, name, value).condition, (binding) => this.bindingExpr(binding));
      return new PyValue(expr.kind === 'compare' || expr.kind === 'not' || expr.kind === 'const' ? expr : py.call('bool', [expr]));
    }
    return new PyValue(this.valueExpr(value));
  }

  /** A JSON setting as Python: strings with bindings become the bound values (alone) or formatted text. */
  private valueExpr(value: unknown): PyExpr {
    if (typeof value === 'string') return this.stringExpr(value);
    if (Array.isArray(value)) return py.list(value.map((item) => this.valueExpr(item)));
    if (value !== null && typeof value === 'object') {
      return py.dict(Object.entries(value).map(([key, item]) => ({ key: py.str(key), value: this.valueExpr(item) })));
    }
    return jsonToPy(value);
  }

  private stringExpr(text: string): PyExpr {
    const { bindings } = parseBindings(text);
    if (bindings.length === 0) return py.str(text);
    if (bindings.length === 1 && bindings[0].start === 0 && bindings[0].end === text.length) return this.bindingExpr(bindings[0]);
    let format = '';
    const args: PyExpr[] = [];
    let position = 0;
    for (const binding of bindings) {
      format += escapeBraces(text.slice(position, binding.start));
      if (binding.root.kind === 'literal') format += escapeBraces(binding.root.text);
      else {
        format += '{}';
        args.push(py.call('text', [this.bindingExpr(binding)]));
      }
      position = binding.end;
    }
    format += escapeBraces(text.slice(position));
    if (args.length === 0) return py.str(unescapeBraces(format));
    return py.call(py.attr(py.str(format), 'format'), args);
  }

  /** A binding as the expression that reads it inside a node function. */
  private bindingExpr(binding: Binding): PyExpr {
    const { root } = binding;
    let base: PyExpr;
    switch (root.kind) {
      case 'literal':
        return py.str(root.text);
      case 'env':
        return py.call(py.attr(py.attr(py.name('os'), 'environ'), 'get'), [py.str(root.name)]);
      case 'inputs':
        base = py.attr(py.name('ctx'), 'inputs');
        break;
      case 'node':
        base = py.name(this.byId.get(root.nodeId)!.variable);
        break;
    }
    return binding.path.reduce<PyExpr>((value, segment) => py.subscript(value, typeof segment === 'number' ? py.num(segment) : py.str(segment)), base);
  }

  // ---- files ------------------------------------------------------------------------------

  private moduleDocstring(): string {
    const { name, id, version, description } = this.workflow;
    const lines = [`"""${docstringText(`${name}: workflow ${id}, version ${version}.`)}`, ''];
    if (description.trim() !== '') lines.push(...wrap(docstringText(description), 88), '');
    lines.push('Generated by Tensorify Server. Run it with: python main.py --inputs inputs.json', '"""');
    return lines.join('\n');
  }

  private mainImports(usedTypes: string[]): string {
    const lines = ['from typing import Any', ...usedTypes.flatMap((type) => this.catalog.resolve(type)!.imports)];
    if (this.namesRead.has('os')) lines.push('import os');
    const utilsExports = new Set([...this.templates.runtime.defines, ...usedTypes.flatMap((type) => this.templates.nodeHelpers(type)?.defines ?? [])]);
    const fromUtils = [...this.namesRead].filter((name) => utilsExports.has(name)).sort();
    return `${mergeImports(lines)}\n\n${fromImport('utils', fromUtils)}`;
  }

  private renderUtils(usedTypes: string[]): string {
    const fragments = [this.templates.runtime, ...usedTypes.flatMap((type) => this.templates.nodeHelpers(type) ?? [])];
    return this.templates.renderSkeleton('utils', {
      imports: new PythonCode(mergeImports(fragments.flatMap((fragment) => fragment.imports))),
      sections: fragments.map((fragment) => new PythonCode(fragment.body)),
    });
  }
}

/** Whether a block's last statement always leaves run(): a return, or an if/else whose both sides do. */
function endsFlow(block: readonly Statement[]): boolean {
  const last = block[block.length - 1];
  if (last === undefined) return false;
  if (last.kind === 'if') return last.orelse !== undefined && endsFlow(last.body) && endsFlow(last.orelse);
  return last.kind === 'return-empty' || (last.kind === 'node' && last.state.role === 'return');
}

/**
 * Whether the branch result `key` is known at the end of `block`: an `if` on one branch result
 * where one side always returns tells the code after it that the other side was taken. The last
 * statement is looked at afresh each time (it may still get an `else:`); the others once.
 */
function knows(block: Block, code: number): boolean {
  const { statements } = block;
  for (; block.scanned < statements.length - 1; block.scanned++) learn(statements[block.scanned], block.known);
  if (block.known.has(code)) return true;
  const last = statements[statements.length - 1];
  if (last === undefined) return false;
  const fromLast = new Set<number>();
  learn(last, fromLast);
  return fromLast.has(code);
}

function learn(statement: Statement, known: Set<number>): void {
  if (statement.kind !== 'if' || statement.literal === undefined) return;
  const bodyEnds = endsFlow(statement.body);
  const elseEnds = statement.orelse !== undefined && endsFlow(statement.orelse);
  if (bodyEnds && !elseEnds) known.add(literalCode({ ...statement.literal, value: !statement.literal.value }));
  if (elseEnds && !bodyEnds) known.add(literalCode(statement.literal));
}

function literalKey(literal: Literal): string {
  return `${literal.value ? '' : '!'}${literal.branch}`;
}

/** A literal as a number, for the sets of known literals. */
function literalCode(literal: Literal): number {
  return literal.branch * 2 + (literal.value ? 1 : 0);
}

function escapeBraces(text: string): string {
  return text.replace(/[{}]/g, (brace) => brace + brace);
}

function unescapeBraces(text: string): string {
  return text.replace(/\{\{|\}\}/g, (pair) => pair[0]);
}

/** Words of `text` in lines of at most `width` characters (a longer word gets its own line). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

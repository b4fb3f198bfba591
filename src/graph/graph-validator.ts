import { majorVersion, type NodeCatalog, parseTypeRef } from '../nodes/node-catalog';
import type { NodePort, NodeTypeDefinition } from '../nodes/node-type';
import { parseCondition } from './condition';
import { ENV_NAMESPACE, findBindings, type FoundBindings, INPUTS_NAMESPACE } from './bindings';
import { parseCronSchedule, SCHEDULE_NODE_TYPE } from './cron-schedule';
import { cyclesThroughNodes } from './cycles';
import { DataflowCheck } from './dataflow';
import { type GraphProblem, GraphProblemCode, type GraphReport } from './graph-problem';
import { answerReachability, type ReachabilityQuery } from './reachability';
import type { WorkflowEdgeInput, WorkflowGraphInput, WorkflowNodeInput } from './graph.types';

export const NODE_ID_PATTERN = /^[a-z_][a-z0-9_]{0,63}$/;
/** Ids that would shadow the binding namespaces `{{ inputs.… }}` and `{{ env.… }}`. */
export const RESERVED_NODE_IDS: ReadonlySet<string> = new Set([INPUTS_NAMESPACE, ENV_NAMESPACE]);
const MAX_CYCLE_IDS_SHOWN = 8;

/**
 * The settings that hold bindings in their strings: all but those the type takes verbatim (a
 * `code` node's Python) or parses as a condition (whose bindings the condition parser finds).
 */
function bindableSettings(settings: Record<string, unknown>, definition: NodeTypeDefinition | undefined): Record<string, unknown> {
  const excluded = [...(definition?.verbatimSettings ?? []), ...(definition?.expressionSettings ?? [])];
  if (excluded.length === 0) return settings;
  return Object.fromEntries(Object.entries(settings).filter(([key]) => !excluded.includes(key)));
}

/** The bindings of a node's condition settings, and a problem for each condition that does not parse. */
function expressionBindings(settings: Record<string, unknown>, definition: NodeTypeDefinition | undefined): FoundBindings {
  const found: FoundBindings = { bindings: [], errors: [] };
  for (const name of definition?.expressionSettings ?? []) {
    const text = settings[name];
    if (typeof text !== 'string') continue;
    const pointer = `/${name}`;
    const parsed = parseCondition(text);
    if (parsed.ok) found.bindings.push(...parsed.bindings.map((binding) => ({ ...binding, pointer })));
    else found.errors.push({ raw: text, start: parsed.error.offset, end: text.length, message: parsed.error.message, pointer, expression: true });
  }
  return found;
}

/** Checks a workflow's graph against the node catalogue and reports every problem at once. */
export class GraphValidator {
  constructor(private readonly catalog: NodeCatalog) {}

  validate(graph: WorkflowGraphInput): GraphReport {
    return new GraphValidation(this.catalog, graph).run();
  }
}

interface HandleSide {
  field: 'sourceHandle' | 'targetHandle';
  noun: 'output' | 'input';
  verb: 'leaves' | 'enters';
  unknownCode: GraphProblemCode;
  ports(definition: NodeTypeDefinition): NodePort[];
}

const SOURCE_SIDE: HandleSide = {
  field: 'sourceHandle',
  noun: 'output',
  verb: 'leaves',
  unknownCode: GraphProblemCode.UNKNOWN_SOURCE_HANDLE,
  ports: (definition) => definition.outputs,
};

const TARGET_SIDE: HandleSide = {
  field: 'targetHandle',
  noun: 'input',
  verb: 'enters',
  unknownCode: GraphProblemCode.UNKNOWN_TARGET_HANDLE,
  ports: (definition) => definition.inputs,
};

type EdgeProblemReporter = (code: GraphProblemCode, message: string, field?: keyof WorkflowEdgeInput) => void;

/** One run of the validator. Nodes are addressed by index; an id means its first node. */
class GraphValidation {
  private readonly problems = new ProblemCollector();
  private readonly nodes: readonly WorkflowNodeInput[];
  private readonly indexById = new Map<string, number>();
  private readonly edgeIndexById = new Map<string, number>();
  private readonly definitions: (NodeTypeDefinition | undefined)[] = [];
  private readonly successors: number[][];

  constructor(
    private readonly catalog: NodeCatalog,
    private readonly graph: WorkflowGraphInput,
  ) {
    this.nodes = graph.nodes;
    this.successors = this.nodes.map(() => []);
  }

  run(): GraphReport {
    this.nodes.forEach((node, index) => this.checkNode(node, index));
    this.checkTriggerCount();
    this.graph.edges.forEach((edge, index) => this.checkEdge(edge, index));
    this.checkCycles();
    this.checkBindings();
    this.checkDataflow();
    return this.problems.toReport();
  }

  /** Typed inputs, layer chains and, on an otherwise valid graph, tensor shapes. */
  private checkDataflow(): void {
    if (this.definitions.some((definition) => definition === undefined)) return;
    const check = new DataflowCheck({
      nodes: this.nodes,
      definitions: this.definitions as NodeTypeDefinition[],
      edges: this.graph.edges,
      indexById: this.indexById,
      producers: (dataType) =>
        this.catalog
          .list()
          .filter((definition) => definition.python?.role !== 'layer' && definition.outputs.some((port) => port.dataType === dataType))
          .map((definition) => definition.type),
    });
    for (const { nodeId, problem } of check.run(this.problems.isEmpty())) this.problems.add(nodeId, problem);
  }

  private checkNode(node: WorkflowNodeInput, index: number): void {
    const path = `/nodes/${index}`;
    const report = (code: GraphProblemCode, message: string, field: string) => this.problems.add(node.id, { code, message, path: `${path}/${field}` });

    if (!NODE_ID_PATTERN.test(node.id)) {
      report(
        GraphProblemCode.INVALID_NODE_ID,
        `Node id "${node.id}" is not valid: use 1 to 64 lowercase letters, digits and underscores, not starting with a digit.`,
        'id',
      );
    } else if (RESERVED_NODE_IDS.has(node.id)) {
      report(
        GraphProblemCode.RESERVED_NODE_ID,
        `Node id "${node.id}" is reserved for the bindings {{ ${INPUTS_NAMESPACE}.… }} and {{ ${ENV_NAMESPACE}.… }}; choose another id.`,
        'id',
      );
    }
    const firstIndex = this.indexById.get(node.id);
    if (firstIndex === undefined) {
      this.indexById.set(node.id, index);
    } else {
      report(
        GraphProblemCode.DUPLICATE_NODE_ID,
        `Node id "${node.id}" is used by more than one node (at indexes ${firstIndex} and ${index}); give each node its own id.`,
        'id',
      );
    }

    const definition = this.catalog.resolve(node.type);
    this.definitions.push(definition);
    if (definition === undefined) {
      report(GraphProblemCode.UNKNOWN_NODE_TYPE, this.describeUnknownType(node), 'type');
      return;
    }
    const settingsProblems = this.catalog.validateSettings(definition, node.settings ?? {});
    for (const problem of settingsProblems) {
      report(GraphProblemCode.INVALID_SETTINGS, `Node "${node.id}": ${problem.message}`, `settings${problem.path}`);
    }
    if (definition.type === SCHEDULE_NODE_TYPE && settingsProblems.length === 0) {
      const { cron, timezone } = { ...definition.defaults, ...node.settings } as { cron: string; timezone: string };
      const parsed = parseCronSchedule(cron, timezone);
      for (const problem of 'problems' in parsed ? parsed.problems : []) {
        report(GraphProblemCode.INVALID_SETTINGS, `Node "${node.id}": ${problem.message}`, `settings/${problem.setting}`);
      }
    }
  }

  private describeUnknownType(node: WorkflowNodeInput): string {
    const { name, major } = parseTypeRef(node.type);
    const unpinned = major === undefined ? undefined : this.catalog.resolve(name);
    if (unpinned !== undefined) {
      return (
        `Node "${node.id}" pins type "${node.type}", but the catalogue has "${name}" version ${unpinned.version}; ` +
        `use "${name}" or "${name}@${majorVersion(unpinned.version)}".`
      );
    }
    const slash = name.indexOf('/');
    if (slash !== -1) {
      // A namespaced type belongs to a node pack: say which, and whether it is missing or did not load.
      const namespace = name.slice(0, slash);
      const pack = this.catalog.packOfNamespace(name);
      const why =
        pack === undefined
          ? `no installed node pack has the namespace "${namespace}": install the pack that provides it`
          : pack.loadError !== undefined
            ? `its node pack ${pack.name} (namespace "${namespace}") did not load: ${pack.loadError}`
            : (pack.types.find((type) => type.type === name)?.loadError ?? `its node pack ${pack.name} ${pack.version} has no type "${name.slice(slash + 1)}"`);
      return `Node "${node.id}" has type "${node.type}", which is not in the node catalogue: ${why} (GET /v1/node-packs lists the packs).`;
    }
    return `Node "${node.id}" has type "${node.type}", which is not in the node catalogue (GET /v1/nodes lists the types).`;
  }

  private checkTriggerCount(): void {
    const triggers = this.nodes.filter((_, index) => this.definitions[index]?.trigger === true);
    if (triggers.length === 1) return;
    const triggerTypes = this.catalog
      .list()
      .filter((definition) => definition.trigger)
      .map((definition) => definition.type);
    const message =
      triggers.length === 0
        ? `The workflow has no trigger node; add exactly one node of a trigger type (${quoteAll(triggerTypes)}).`
        : `The workflow has ${triggers.length} trigger nodes (${quoteAll(triggers.map((node) => node.id))}); keep exactly one.`;
    this.problems.add(undefined, { code: GraphProblemCode.TRIGGER_COUNT, message });
  }

  private checkEdge(edge: WorkflowEdgeInput, index: number): void {
    const label = edge.id === undefined ? `Edge at index ${index}` : `Edge "${edge.id}"`;
    const sourceIndex = this.indexById.get(edge.source);
    const targetIndex = this.indexById.get(edge.target);
    const owner = sourceIndex !== undefined ? edge.source : targetIndex !== undefined ? edge.target : undefined;
    const report: EdgeProblemReporter = (code, message, field) => {
      const path = field === undefined ? `/edges/${index}` : `/edges/${index}/${field}`;
      this.problems.add(owner, { code, message, path, edge: edge.id ?? index });
    };

    if (edge.id !== undefined) {
      const firstIndex = this.edgeIndexById.get(edge.id);
      if (firstIndex === undefined) {
        this.edgeIndexById.set(edge.id, index);
      } else {
        report(
          GraphProblemCode.DUPLICATE_EDGE_ID,
          `Edge id "${edge.id}" is used by more than one edge (at indexes ${firstIndex} and ${index}); give each edge its own id.`,
          'id',
        );
      }
    }
    if (sourceIndex === undefined) {
      report(GraphProblemCode.UNKNOWN_EDGE_SOURCE, `${label} starts at node "${edge.source}", which does not exist.`, 'source');
    }
    if (targetIndex === undefined) {
      report(GraphProblemCode.UNKNOWN_EDGE_TARGET, `${label} ends at node "${edge.target}", which does not exist.`, 'target');
    }
    if (sourceIndex !== undefined) this.checkHandle(SOURCE_SIDE, edge, edge.source, sourceIndex, label, report);
    if (targetIndex !== undefined) this.checkHandle(TARGET_SIDE, edge, edge.target, targetIndex, label, report);
    if (sourceIndex === undefined || targetIndex === undefined) return;

    if (sourceIndex === targetIndex) {
      report(GraphProblemCode.SELF_LOOP, `${label} connects node "${edge.source}" to itself; a node cannot feed its own input.`);
      return;
    }
    this.successors[sourceIndex].push(targetIndex);
  }

  private checkHandle(side: HandleSide, edge: WorkflowEdgeInput, nodeId: string, nodeIndex: number, label: string, report: EdgeProblemReporter): void {
    const definition = this.definitions[nodeIndex];
    if (definition === undefined) return;
    const ports = side.ports(definition);
    const handle = edge[side.field];
    const passage = `${label} ${side.verb} node "${nodeId}"`;
    const portsOfType = `type "${definition.type}" ${ports.length === 0 ? `has no ${side.noun}s` : `has the ${side.noun}s ${quoteAll(ports.map((port) => port.id))}`}`;
    if (handle !== undefined && handle !== null) {
      if (!ports.some((port) => port.id === handle)) {
        report(side.unknownCode, `${passage} through ${side.noun} "${handle}", but ${portsOfType}.`, side.field);
      }
    } else if (ports.length === 0) {
      report(GraphProblemCode.AMBIGUOUS_HANDLE, `${passage}, but ${portsOfType}.`, side.field);
    } else if (ports.length > 1) {
      report(GraphProblemCode.AMBIGUOUS_HANDLE, `${passage} without a ${side.field}, but ${portsOfType}; set ${side.field} to one of them.`, side.field);
    }
  }

  private checkCycles(): void {
    for (const [index, cycle] of cyclesThroughNodes(this.successors)) {
      const nodeId = this.nodes[index].id;
      const path = describeCycle(cycle.map((member) => this.nodes[member].id));
      this.problems.add(nodeId, {
        code: GraphProblemCode.CYCLE,
        message: `Node "${nodeId}" is on a cycle: ${path}. Remove one of its edges.`,
        path: `/nodes/${index}`,
      });
    }
  }

  private checkBindings(): void {
    const awaitingUpstreamCheck: { query: ReachabilityQuery; nodeId: string; boundId: string; raw: string; path: string }[] = [];
    this.nodes.forEach((node, nodeIndex) => {
      const settings = node.settings ?? {};
      const definition = this.definitions[nodeIndex];
      const plain = findBindings(bindableSettings(settings, definition));
      const conditions = expressionBindings(settings, definition);
      const settingsPath = `/nodes/${nodeIndex}/settings`;
      for (const error of [...plain.errors, ...conditions.errors]) {
        const code = 'expression' in error ? GraphProblemCode.INVALID_EXPRESSION : GraphProblemCode.INVALID_BINDING;
        this.problems.add(node.id, { code, message: error.message, path: settingsPath + error.pointer });
      }
      const bindings = [...plain.bindings, ...conditions.bindings];
      for (const { root, raw, pointer } of bindings) {
        if (root.kind !== 'node') continue;
        const path = settingsPath + pointer;
        const boundIndex = this.indexById.get(root.nodeId);
        if (boundIndex === undefined) {
          this.addUnresolved(
            node.id,
            path,
            `Binding "${raw}" names node "${root.nodeId}", which does not exist; ` +
              `a binding starts with a node id, "${INPUTS_NAMESPACE}" or "${ENV_NAMESPACE}".`,
          );
        } else if (root.nodeId === node.id) {
          const message = `Binding "${raw}" names node "${node.id}" itself; a node can only read the outputs of its upstream nodes.`;
          this.addUnresolved(node.id, path, message);
        } else if (this.definitions[boundIndex]?.python?.role === 'layer') {
          const message = `Binding "${raw}" names layer "${root.nodeId}", which has no output of its own: it is part of the model its sequential node builds.`;
          this.addUnresolved(node.id, path, message);
        } else {
          const query = { from: boundIndex, to: this.indexById.get(node.id)! };
          awaitingUpstreamCheck.push({ query, nodeId: node.id, boundId: root.nodeId, raw, path });
        }
      }
    });
    const upstream = answerReachability(
      this.successors,
      awaitingUpstreamCheck.map((binding) => binding.query),
    );
    awaitingUpstreamCheck.forEach(({ nodeId, boundId, raw, path }, index) => {
      if (upstream[index]) return;
      this.addUnresolved(
        nodeId,
        path,
        `Binding "${raw}" names node "${boundId}", which is not upstream of "${nodeId}"; ` +
          `connect "${boundId}" to "${nodeId}" through edges, or remove the binding.`,
      );
    });
  }

  private addUnresolved(nodeId: string, path: string, message: string): void {
    this.problems.add(nodeId, { code: GraphProblemCode.UNRESOLVED_BINDING, message, path });
  }
}

class ProblemCollector {
  private readonly byNode = new Map<string, GraphProblem[]>();
  private readonly graphProblems: GraphProblem[] = [];

  /** Files the problem under the node id, or at graph level when there is no node to name. */
  add(nodeId: string | undefined, problem: GraphProblem): void {
    if (nodeId === undefined) {
      this.graphProblems.push(problem);
      return;
    }
    const problems = this.byNode.get(nodeId);
    if (problems === undefined) this.byNode.set(nodeId, [problem]);
    else problems.push(problem);
  }

  isEmpty(): boolean {
    return this.byNode.size === 0 && this.graphProblems.length === 0;
  }

  toReport(): GraphReport {
    return {
      valid: this.byNode.size === 0 && this.graphProblems.length === 0,
      // fromEntries defines own properties, so an id such as "__proto__" stays an ordinary key.
      errors: { nodes: Object.fromEntries(this.byNode), graph: this.graphProblems },
    };
  }
}

function describeCycle(ids: string[]): string {
  const hidden = ids.length - MAX_CYCLE_IDS_SHOWN;
  const shown = hidden > 0 ? [...ids.slice(0, MAX_CYCLE_IDS_SHOWN), `… (${hidden} more)`] : ids;
  return [...shown, ids[0]].join(' → ');
}

function quoteAll(values: string[]): string {
  return values.map((value) => `"${value}"`).join(', ');
}
